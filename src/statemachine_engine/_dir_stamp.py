"""Whether a directory's entries may have changed since a moment, for one ``stat``.

A process that sends to sockets in a directory (wake-ups, the monitor's event socket)
looks at the directory again only when its mtime moves. File systems stamp mtimes with a
coarse clock (a tick of a few milliseconds), so an entry made in the same tick as a look
may leave the mtime as it was: a stamp is trusted only once the look was made well after
the mtime it saw.
"""

from __future__ import annotations

import os
import time

#: A look this long after the directory's mtime has seen every change stamped with it.
RACY_NS = 50_000_000


class DirectoryStamp:
    """The mtime of ``directory`` when it was last looked at (:meth:`look`)."""

    __slots__ = ("_looked_at", "_mtime", "directory")

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = directory
        self._mtime: int | None = None
        self._looked_at = 0

    def look(self) -> bool:
        """Take the stamp now, before reading the directory; False: it does not exist."""
        try:
            mtime = os.stat(self.directory).st_mtime_ns
        except OSError:
            self._mtime = None
            return False
        self._mtime, self._looked_at = mtime, time.time_ns()
        return True

    def unchanged(self) -> bool:
        """Whether the directory is as the last :meth:`look` saw it, for certain."""
        if self._mtime is None:
            return False
        try:
            mtime = os.stat(self.directory).st_mtime_ns
        except OSError:
            return False
        return mtime == self._mtime and self._looked_at - mtime > RACY_NS

    def forget(self) -> None:
        """Look again next time, whatever the mtime."""
        self._mtime = None

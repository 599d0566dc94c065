"""A running command's lines, streamed as ``bash_output`` realtime events (the web UI
shows them live in its activity log).

Cheap by construction: lines are gathered and sent at most once per
:data:`INTERVAL_SECONDS`, at most :data:`MAX_LINES` per event, each cut to
:data:`MAX_LINE_CHARS`; lines beyond that are only counted (``skipped``). A command
printing 100,000 lines a second costs two small events a second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

#: Least time between two events of one command.
INTERVAL_SECONDS = 0.5
#: Most lines one event carries; more in one interval are counted, not sent.
MAX_LINES = 50
#: Longer lines are cut (the machine's log keeps them whole).
MAX_LINE_CHARS = 500

Emit = Callable[[str, dict[str, Any]], None]


class OutputEvents:
    """Batches of a command's lines for ``emit(event_type, payload)``.

    ``payload``: ``{"lines": [{"stream": "stdout" | "stderr", "text": ...}], "skipped": n,
    "state": s}``. Call :meth:`line` for each line and :meth:`close` when it ended.
    """

    def __init__(
        self, emit: Emit, state: str | None, *, clock: Callable[[], float] = time.monotonic
    ):
        self._emit = emit
        self._state = state
        self._clock = clock
        self._lines: list[dict[str, str]] = []
        self._skipped = 0
        self._sent_at = -INTERVAL_SECONDS
        self._timer: asyncio.TimerHandle | None = None

    def line(self, stream: str, text: str) -> None:
        """One line the command wrote (on ``stream``)."""
        if len(self._lines) < MAX_LINES:
            self._lines.append({"stream": stream, "text": text[:MAX_LINE_CHARS]})
        else:
            self._skipped += 1
        wait = self._sent_at + INTERVAL_SECONDS - self._clock()
        if wait <= 0:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(wait, self.flush)

    def flush(self) -> None:
        """Send what is gathered (nothing when nothing is)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._lines and not self._skipped:
            return
        payload: dict[str, Any] = {"lines": self._lines, "skipped": self._skipped}
        if self._state is not None:
            payload["state"] = self._state
        self._lines, self._skipped = [], 0
        self._sent_at = self._clock()
        self._emit("bash_output", payload)

    def close(self) -> None:
        """The command ended: send what is left."""
        self.flush()

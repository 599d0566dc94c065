"""Each supervised process's lines in a log file of its own, rotated by size.

``logs/<name>.log`` under the project, owner-only; past ``max_bytes`` it becomes
``<name>.log.1`` (and ``.1`` becomes ``.2``...), keeping ``keep`` old files. The lines
are written as the process wrote them (they carry the machine's own time stamps), whole
however long.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

from ._manifest import LogSpec

_MODE = 0o600


def _create_private(path: str | Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, _MODE))


def _rotate(source: str, dest: str) -> None:
    """Move the full file aside and start the next one owner-only (the handler then opens
    it for appending, keeping its mode)."""
    os.replace(source, dest)
    _create_private(source)


class LogFiles:
    """One rotating file per unit name, opened on its first line."""

    def __init__(self, spec: LogSpec) -> None:
        self.spec = spec
        self._handlers: dict[str, logging.handlers.RotatingFileHandler] = {}

    def path_of(self, name: str) -> Path:
        return self.spec.directory / f"{name}.log"

    def write(self, name: str, line: str) -> None:
        handler = self._handlers.get(name) or self._open(name)
        record = logging.LogRecord(name, logging.INFO, "", 0, line, None, None)
        handler.emit(record)

    def _open(self, name: str) -> logging.handlers.RotatingFileHandler:
        self.spec.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.path_of(name)
        _create_private(path)  # before the handler opens it for appending
        handler = logging.handlers.RotatingFileHandler(
            path,
            maxBytes=self.spec.max_bytes,
            backupCount=self.spec.keep,
            encoding="utf-8",
            errors="replace",
        )
        handler.rotator = _rotate
        handler.setFormatter(logging.Formatter("%(message)s"))
        self._handlers[name] = handler
        return handler

    def close(self) -> None:
        for handler in self._handlers.values():
            handler.close()
        self._handlers.clear()

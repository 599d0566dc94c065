"""Each supervised process's lines in a log file of its own, rotated by size.

``logs/<name>.log`` under the project, owner-only; past ``max_bytes`` it becomes
``<name>.log.1`` (and ``.1`` becomes ``.2``...), keeping ``keep`` old files. The lines
are written as the process wrote them (they carry the machine's own time stamps), whole
however long.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from .._logs import rotating_file_handler
from ..config._manifest import LogSpec


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
        handler = rotating_file_handler(
            self.path_of(name), max_bytes=self.spec.max_bytes, keep=self.spec.keep
        )
        handler.setFormatter(logging.Formatter("%(message)s"))
        self._handlers[name] = handler
        return handler

    def close(self) -> None:
        for handler in self._handlers.values():
            handler.close()
        self._handlers.clear()

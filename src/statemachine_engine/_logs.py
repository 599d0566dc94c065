"""Logging set-up for the command-line tools: readable lines or JSON lines on stderr,
and, where asked, in a log file rotated by size."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import TYPE_CHECKING, Any

from .errors import StateMachineError

if TYPE_CHECKING:
    import logging.handlers

_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
#: A log file is rotated past this size, keeping this many old ones (``.1``, ``.2``...).
LOG_FILE_BYTES = 10 * 1024 * 1024
LOG_FILE_KEEP = 5
_LOG_FILE_MODE = 0o600


class JsonFormatter(logging.Formatter):
    """One JSON object per record, with the structured ``extra`` fields at the top level."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": round(record.created, 6),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s.%(msecs)03d %(levelname)-7s %(message)s", "%H:%M:%S")
        self.converter = time.localtime


class LineStream(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler writing each line at once, except while :data:`lines_together`
    holds them: those go out in one write when it ends.

    A commit that carries many machines' steps tells what waited for it (their
    transition and activity lines among it) in one go; a host starting thousands of
    machines would otherwise make a system call per line (a fifth of its start). Lines
    are held only while those notices are told, synchronously, after the commit: no
    action runs meanwhile, so a line is never held while something stalls.
    """

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self._held: list[str] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        held = self._held
        if held is None:
            super().emit(record)
            return
        try:
            held.append(self.format(record) + self.terminator)
        except Exception:
            self.handleError(record)

    def hold_lines(self) -> None:
        """Keep the lines emitted from now until :meth:`write_held`."""
        self.acquire()
        try:
            if self._held is None:
                self._held = []
        finally:
            self.release()

    def write_held(self) -> None:
        """Write the lines held since :meth:`hold_lines`, in one write."""
        self.acquire()
        try:
            held, self._held = self._held, None
            if held:
                try:
                    self.stream.write("".join(held))
                    self.flush()
                except Exception:  # as a failed emit does
                    self.handleError(logging.makeLogRecord({"msg": "(lines held together)"}))
        finally:
            self.release()


class _LinesTogether:
    """``with lines_together:``: the lines of this process's :class:`LineStream` handlers
    emitted inside go out in one write each at its end (nested: at the outermost)."""

    def __init__(self) -> None:
        self.handlers: list[LineStream] = []
        self._depth = 0

    def __enter__(self) -> None:
        self._depth += 1
        if self._depth == 1:
            for handler in self.handlers:
                handler.hold_lines()

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            for handler in self.handlers:
                handler.write_held()


lines_together = _LinesTogether()


def configure_logging(
    *, debug: bool = False, json_lines: bool = False, log_file: str | None = None
) -> None:
    """Send the package's logs to stderr (INFO, or DEBUG with ``debug``), and to
    ``log_file`` as well when given (rotated: :func:`rotating_file_handler`)."""
    formatter = JsonFormatter() if json_lines else TextFormatter()
    stream = LineStream(sys.stderr)
    lines_together.handlers[:] = [stream]
    handlers: list[logging.Handler] = [stream]
    if log_file is not None:
        handlers.append(rotating_file_handler(log_file))
    for handler in handlers:
        handler.setFormatter(formatter)
    # Our formatters show neither the caller, the thread nor the process: records need
    # not look them up (the logging HOWTO's "Optimization"; a machine logs every step).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    root = logging.getLogger("statemachine_engine")
    root.handlers[:] = handlers
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    root.propagate = False
    # User-written actions may log under their own names; show those too.
    logging.basicConfig(level=logging.DEBUG if debug else logging.INFO, handlers=handlers)


def rotating_file_handler(
    path: str | os.PathLike[str], *, max_bytes: int = LOG_FILE_BYTES, keep: int = LOG_FILE_KEEP
) -> logging.handlers.RotatingFileHandler:
    """A handler appending to ``path`` (created owner-only, its directory too); past
    ``max_bytes`` the file becomes ``path.1`` (``.1`` becomes ``.2``...), ``keep`` old
    files are kept, and the next one is owner-only again."""
    import logging.handlers  # only with --log-file: it brings pickle, queue and socket

    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
        _create_private(path)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=max_bytes, backupCount=keep, encoding="utf-8", errors="replace"
        )
    except OSError as exc:
        raise StateMachineError(f"cannot open log file {path}: {exc.strerror}") from exc
    handler.rotator = _rotate
    return handler


def _create_private(path: str | os.PathLike[str]) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
    os.close(os.open(path, flags, _LOG_FILE_MODE))


def _rotate(source: str, dest: str) -> None:
    """Move the full file aside and start the next one owner-only (the handler then
    opens it for appending, keeping its mode)."""
    os.replace(source, dest)
    _create_private(source)

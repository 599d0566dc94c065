"""Whether a system is up, and what its supervisor says of it.

A running supervisor holds ``system-<name>.lock`` (an ``flock``, released by the kernel
however the supervisor ends), keeps ``system-<name>.json`` current (its pid and, per
process, its state, pid, restarts and last exit) and listens on ``system-<name>.sock``
(:mod:`._control`). Both live in the store's private socket
directory, so two systems of one name on two stores never meet.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from .._files import open_lock
from ..settings import Settings

_HOLD_TRIES = 3
_HOLD_RETRY_SECONDS = 0.01


class RunningSystem:
    """The files of the system ``name`` on the store of ``settings``."""

    def __init__(self, settings: Settings, name: str) -> None:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:64] or "system"
        directory = settings.socket_dir()
        self.lock_path = directory / f"system-{safe}.lock"
        self.state_path = directory / f"system-{safe}.json"
        self.control_path = directory / f"system-{safe}.sock"
        self._held: int | None = None

    def hold(self) -> bool:
        """Take the lock for this process; False when another process holds it (the
        system is up). ``is_up`` elsewhere holds it for an instant to look: a lock still
        held after a few tries is a supervisor's."""
        fd = open_lock(self.lock_path)
        for attempt in range(_HOLD_TRIES):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if attempt + 1 < _HOLD_TRIES:
                    time.sleep(_HOLD_RETRY_SECONDS)
                continue
            self._held = fd
            return True
        os.close(fd)
        return False

    def _probe(self) -> bool:
        """Whether no process holds the lock (taken for an instant to find out)."""
        fd = open_lock(self.lock_path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(fd)  # releases it if it was taken
        return True

    def release(self) -> None:
        with contextlib.suppress(OSError):
            self.state_path.unlink()
        if self._held is not None:
            os.close(self._held)  # releases the lock
            self._held = None

    def is_up(self) -> bool:
        """Whether a supervisor holds the lock now."""
        if self._held is not None:
            return True
        return self.lock_path.exists() and not self._probe()

    def write(self, state: dict[str, Any]) -> None:
        """Replace the state file at once (readers never see half of it)."""
        temporary = self.state_path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(state, file)
        os.replace(temporary, self.state_path)

    def read(self) -> dict[str, Any] | None:
        """The supervisor's last word, if it is up and has written one."""
        try:
            state = json.loads(Path(self.state_path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return state if isinstance(state, dict) else None

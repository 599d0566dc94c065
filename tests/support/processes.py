"""``statemachine`` as a real process: started, read line by line with deadlines, stopped.

A running machine is watched through its stderr (the engine logs every transition as
``[name] a --event--> b``) and driven through its control socket. Every process is
reaped and its pipes closed by :meth:`MachineProcess.close` (the ``statemachine``
fixture calls it); nothing sleeps.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

import pytest

#: How long a test waits for a line or an exit, in seconds.
DEADLINE = 15.0
#: ``python -m statemachine_engine``.
MODULE = [sys.executable, "-m", "statemachine_engine"]

#: Every process's lines go through one condition, so a test can wait on several at once.
_CHANGED = threading.Condition()


def console_script(name: str) -> list[str] | None:
    """The installed console script ``name`` (beside this Python first), or None."""
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return [str(beside)]
    found = shutil.which(name)
    return [found] if found else None


#: The ``statemachine`` console script, or the module where it is not installed.
STATEMACHINE = console_script("statemachine") or MODULE


def socket_dir(db: str | os.PathLike[str] | None = None) -> Path:
    """The socket directory of the store ``db`` (default: the test's store, set per test
    by ``tests/conftest.py`` like the base socket directory)."""
    from statemachine_engine.settings import socket_dir_path

    return socket_dir_path(None if db is None else str(db))


def control_path(machine: str) -> Path:
    """The control socket of ``machine``."""
    return socket_dir() / f"control-{machine}.sock"


def send(
    machine: str,
    event: str | bytes,
    payload: object = None,
    *,
    path: Path | None = None,
    **fields: object,
) -> None:
    """One control datagram to ``machine``, as ``statemachine-db send-event`` sends it.

    ``event`` names the event (``payload`` and ``fields`` such as ``job_id`` go with it);
    bytes are sent as they are.
    """
    if isinstance(event, bytes):
        data = event
    else:
        message = {"type": event, **({} if payload is None else {"payload": payload}), **fields}
        data = json.dumps(message).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(data, str(path or control_path(machine)))


def moved(machine: str, source: str | None, event: str, target: str) -> str:
    """The regex of the engine's transition log line."""
    origin = "" if source is None else f"{source} "
    return re.escape(f"[{machine}] {origin}--{event}--> {target}")


def run_cli(
    *args: str | Path, cwd: Path, argv: Sequence[str] = MODULE
) -> subprocess.CompletedProcess[str]:
    """Run a command to its end (``python -m statemachine_engine`` by default)."""
    return subprocess.run(
        [*argv, *map(str, args)],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class MachineProcess:
    """One ``statemachine`` process whose output lines are kept and awaited with deadlines.

    It runs in its own session: a signal meant for the test never reaches it, and
    ``killpg`` reaches it and whatever it started in its group.
    """

    def __init__(
        self, argv: Sequence[str | Path], cwd: Path, env: Mapping[str, str] | None = None
    ) -> None:
        self.argv = [str(arg) for arg in argv]
        self.proc = subprocess.Popen(
            self.argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.stderr_lines: list[str] = []
        self.stdout_lines: list[str] = []
        self._cursor = 0
        self._eof = False
        self._counts: dict[str, tuple[int, int]] = {}
        assert self.proc.stderr is not None
        assert self.proc.stdout is not None
        self._threads = [
            threading.Thread(target=self._pump, args=(self.proc.stderr, True), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stdout, False), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _pump(self, stream: IO[str], is_stderr: bool) -> None:
        lines = self.stderr_lines if is_stderr else self.stdout_lines
        for line in stream:
            with _CHANGED:
                lines.append(line.rstrip("\n"))
                _CHANGED.notify_all()
        if is_stderr:
            with _CHANGED:
                self._eof = True
                _CHANGED.notify_all()

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def stderr(self) -> str:
        """Its stderr so far."""
        return "\n".join(self.stderr_lines)

    @property
    def stdout(self) -> str:
        """Its stdout so far."""
        return "\n".join(self.stdout_lines)

    def count(self, pattern: str) -> int:
        """How many stderr lines so far match ``pattern`` (counted incrementally)."""
        with _CHANGED:
            seen, found = self._counts.get(pattern, (0, 0))
            regex = re.compile(pattern)
            found += sum(1 for line in self.stderr_lines[seen:] if regex.search(line))
            self._counts[pattern] = (len(self.stderr_lines), found)
            return found

    def expect(self, pattern: str, timeout: float = DEADLINE) -> str:
        """The next stderr line (after the last one matched) matching ``pattern``."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with _CHANGED:
            while True:
                while self._cursor < len(self.stderr_lines):
                    line = self.stderr_lines[self._cursor]
                    self._cursor += 1
                    if regex.search(line):
                        return line
                if self._eof:
                    code = self.proc.wait(DEADLINE)
                    pytest.fail(
                        f"exited ({code}) before a line matched {pattern!r}:\n{self.stderr}"
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pytest.fail(f"no line matching {pattern!r} within {timeout}s:\n{self.stderr}")
                _CHANGED.wait(remaining)

    def wait(self, timeout: float = DEADLINE) -> int:
        """Its exit status, once it has exited and its output has been read."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running after {timeout}s:\n{self.stderr}")
        for thread in self._threads:
            thread.join(timeout)
        return code

    def stop(self, timeout: float = DEADLINE) -> int:
        """SIGTERM; its exit status."""
        self.proc.terminate()
        return self.wait(timeout)

    def kill(self) -> None:
        """SIGKILL to its group, as a crash would: nothing of the machine runs afterwards."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        assert self.wait() == -signal.SIGKILL

    def close(self) -> None:
        """End it if it still runs (SIGTERM, then SIGKILL to its group), reap it, close pipes."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        for thread in self._threads:
            thread.join(5)
        assert self.proc.stdout is not None
        assert self.proc.stderr is not None
        self.proc.stdout.close()
        self.proc.stderr.close()


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Return once ``predicate`` holds, re-checked on every line any process writes."""
    deadline = time.monotonic() + timeout
    with _CHANGED:
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"{what}: not within {timeout}s")
            _CHANGED.wait(remaining)

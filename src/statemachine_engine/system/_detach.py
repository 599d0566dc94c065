"""``statemachine-system up --detach``: a supervisor that outlives its terminal.

The command lints the configs, then starts ``statemachine-system up`` again as the
supervisor, in a session of its own (no terminal: closing or killing the one it was
started from does not reach it), its stdin on ``/dev/null`` and its own lines in
``logs/statemachine-system.log``. The machines' lines go to their log files only.

The two talk over a pipe: the supervisor writes ``up`` once every machine has
registered (and ``post_start`` has run) and closes its end; on a failure it writes the
reason and keeps its end open while it brings down what it started, so the command
returns once nothing is left. An end of the pipe with nothing on it means the
supervisor died: the command shows the last lines of its log.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import time

from ..config._manifest import Manifest
from ..errors import StateMachineError
from ._logtail import last_lines

PROG = "statemachine-system"
#: The supervisor's own log, beside the machines' ones.
SUPERVISOR_LOG = "statemachine-system.log"
#: What the detached supervisor writes on the pipe once the system is up.
READY = "up"
#: ... and when another supervisor holds the system already.
ALREADY = "already"


class Ready:
    """The detached supervisor's end of the pipe (``--ready-fd``)."""

    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd
        os.set_inheritable(fd, False)  # not for the machines

    def _write(self, text: str) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):  # the command went away (Ctrl-C): no matter
            os.write(self.fd, text.encode("utf-8", "replace")[:4096])

    def up(self) -> None:
        """The system is up: the command returns."""
        self._write(READY + "\n")
        self.close()

    def failed(self, reason: str) -> None:
        """The system did not come up; the command returns once this process ends."""
        self._write(f"{reason}\n")

    def close(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None


def launch(manifest: Manifest, grace: float) -> int:
    """Start the detached supervisor of ``manifest``; returns the command's exit status
    once the system is up (0) or the supervisor has given up on it (1)."""
    log_path = manifest.logs.directory / SUPERVISOR_LOG
    try:
        os.makedirs(manifest.logs.directory, mode=0o700, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW
        log = os.open(log_path, flags, 0o600)
    except OSError as exc:
        raise StateMachineError(f"cannot open log file {log_path}: {exc.strerror}") from exc
    reader, writer = os.pipe()
    argv = [sys.executable, "-m", "statemachine_engine.system.cli", "-f", str(manifest.path)]
    argv += ["up", "--grace", str(grace), "--ready-fd", str(writer)]
    try:
        process = subprocess.Popen(
            argv,
            cwd=manifest.root,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            pass_fds=(writer,),
            start_new_session=True,
        )
    finally:
        os.close(writer)
        os.close(log)
    with os.fdopen(reader, "rb") as pipe:
        said = _read_all(pipe.fileno(), deadline=_deadline(manifest, grace))
    if said is None:
        print(
            f"{PROG}: {manifest.name} is still starting after a long while; see {log_path}",
            file=sys.stderr,
        )
        process.returncode = 0  # not ours to wait for: it runs on
        return 1
    first = said.split("\n", 1)[0]
    if first == READY:
        process.returncode = 0  # not ours to wait for: it runs on, detached
        print(f"{PROG}: {manifest.name} is up (supervisor pid {process.pid}; its log: {log_path})")
        return 0
    try:  # it said why and brings down what it started: bounded like that
        status: int | str = process.wait(2 * grace + 30)
    except subprocess.TimeoutExpired:
        status = "still running"
    if first.startswith(ALREADY):
        print(f"{PROG}: {manifest.name} is up already (supervisor pid {first.split()[-1]})")
        return 0
    reasons = [line for line in said.splitlines() if line] or [
        f"the supervisor ended ({status}) before the system was up; its last lines:",
        *last_lines(log_path, 10),
    ]
    for line in reasons:
        print(f"{PROG}: error: {line}", file=sys.stderr)
    return 1


def _deadline(manifest: Manifest, grace: float) -> float:
    """How long the command waits for the supervisor: each wave may take the time
    allowed to register, and a failure the time to bring it all down."""
    from ._supervisor import REGISTER_TIMEOUT_SECONDS

    waves = len(manifest.start_order())
    return time.monotonic() + REGISTER_TIMEOUT_SECONDS * (waves + 1) + 2 * grace + 30


def _read_all(fd: int, *, deadline: float) -> str | None:
    """Everything written on ``fd`` until its other end is closed (None: not by
    ``deadline``)."""
    data = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        readable, _, _ = select.select([fd], [], [], remaining)
        if not readable:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            return data.decode("utf-8", "replace")
        if len(data) < 64 * 1024:  # (a reason is one line; the rest is not read)
            data += chunk
        if data.startswith(READY.encode() + b"\n"):
            return data.decode("utf-8", "replace")

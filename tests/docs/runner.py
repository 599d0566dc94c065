"""Running a documentation block in a project directory, as a reader would.

Every process runs in a session of its own, with its output (stdout and stderr, in
order) read by a thread; a test waits for a text in that output or for the exit, with a
deadline, and never sleeps for an event it can await. Whatever a block leaves running is
killed with its session at the end.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .blocks import Block, is_pip_install

#: How long one block (or one background command coming up) may take, in seconds.
DEADLINE = 60.0
#: How long a stopped background command may take to exit, in seconds.
GRACE = 15.0
#: Written by the harness's script when the block's own commands are done.
_DONE = "@@docs-harness: block done@@"

#: The script around a shell block: stop at the first failing command and name it; after
#: the block, wait for the harness's go, then stop the block's ``&`` jobs and check them.
_SHELL_PROLOGUE = """\
set -eE
trap 'echo "docs: \\`$BASH_COMMAND\\` exited with status $?" >&2' ERR
# The jobs a block waits for itself: their statuses are gone once it has.
wait() {
    local __docs_status=0
    builtin wait "$@" || __docs_status=$?
    __docs_reaped="${__docs_reaped-} ${*:-$!}"
    return "$__docs_status"
}
{
"""
_SHELL_EPILOGUE = """
} </dev/null
trap - ERR
set +e
# A job that already ended is no longer in `jobs -p`, but bash keeps the status of the
# last one (`$!`) for `wait`, unless the block waited for it: one that failed before the
# block ended fails it too.
__docs_last=$!
case " ${__docs_reaped-} " in *" $__docs_last "*) __docs_last= ;; esac
__docs_jobs=$(printf '%s\n' $(jobs -p) $__docs_last | sort -u)
if [ -n "$__docs_jobs" ]; then
    jobs -l >&2
    echo "@@docs-harness: block done@@"
    read -r __docs_go
    __docs_failed=0
    for __docs_pid in $__docs_jobs; do
        kill -TERM "$__docs_pid" 2>/dev/null
    done
    for __docs_pid in $__docs_jobs; do
        wait "$__docs_pid"
        __docs_status=$?
        if [ "$__docs_status" -ne 0 ]; then
            echo "docs: background job $__docs_pid exited with status $__docs_status" >&2
            __docs_failed=1
        fi
    done
    exit "$__docs_failed"
fi
"""


@dataclass
class Process:
    """A process in its own session whose combined output is kept and can be awaited."""

    argv: Sequence[str]
    cwd: Path
    env: Mapping[str, str]
    stdin: bool = False
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.proc = subprocess.Popen(
            list(self.argv),
            cwd=self.cwd,
            env=dict(self.env),
            stdin=subprocess.PIPE if self.stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",  # a stray byte must not stop the reader thread
            start_new_session=True,
        )
        self._changed = threading.Condition()
        self._eof = False
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._eof = True
            self._changed.notify_all()

    @property
    def at_eof(self) -> bool:
        """Whether the output has ended (the process has closed it, or exited)."""
        with self._changed:
            return self._eof

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for(self, texts: Sequence[str], timeout: float) -> bool:
        """Whether every text appeared in the output before the deadline or the end."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                joined = "\n".join(self.lines)
                if all(text in joined for text in texts):
                    return True
                remaining = deadline - time.monotonic()
                if self._eof or remaining <= 0:
                    return False
                self._changed.wait(remaining)

    def wait_end(self, timeout: float) -> int | None:
        """The exit status, or None if the process is still running at the deadline."""
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self._thread.join(timeout)
        return status

    def write(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def terminate(self) -> int | None:
        """SIGTERM to the command (its session leader); its exit status within the grace."""
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGTERM)
        return self.wait_end(GRACE)

    def close(self) -> None:
        """Kill whatever is left of the session and reap the process."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._thread.join(5)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


def report(block: Block, command: str, status: int | None, output: str, what: str = "") -> str:
    """The failure message: the block, the command, its status and its output."""
    ended = "did not end" if status is None else f"exited with status {status}"
    return (
        f"{block.id}: `{command}` {ended}{what}\n"
        f"--- block ({block.language}) ---\n{block.source}"
        f"--- output ---\n{output}\n--- end ---"
    )


def _commands_to_run(block: Block) -> list[str]:
    return [command for command in block.commands() if not is_pip_install(command)]


def run_shell(
    block: Block, source: str, cwd: Path, env: Mapping[str, str], shown: Block | None = None
) -> None:
    """A bash block: its commands as one script; ``&`` jobs stopped once it is done.

    ``shown``: the ``docs: output`` block after it, whose lines it must print.
    """
    lines = [line for line in source.splitlines() if not is_pip_install(line)]
    if not _commands_to_run(block):
        pytest.skip(f"{block.id}: only `pip install` lines: the package is installed already")
    script = _SHELL_PROLOGUE + "\n".join(lines) + "\n" + _SHELL_EPILOGUE
    process = Process(["bash", "-c", script], cwd, env, stdin=True)
    try:
        if not process.wait_for([_DONE], DEADLINE):  # it ended, or it is stuck
            status = process.wait_end(GRACE if process.at_eof else 0)
            if status is None:
                pytest.fail(report(block, "the block", None, process.output, f" in {DEADLINE} s"))
            if status != 0:
                pytest.fail(report(block, _failed(process.output), status, process.output))
            _no_traceback(block, "the block", process.output)
            _shows(block, shown, process.output)
            return
        # The block left `&` jobs running: let them do what the doc says, then stop them.
        if block.directive.until and not process.wait_for(block.directive.until, DEADLINE):
            pytest.fail(
                report(block, "the block", None, process.output, _missing(block.directive.until))
            )
        process.write("go\n")
        status = process.wait_end(GRACE + 5)
        if status != 0:
            pytest.fail(report(block, "a background job", status, process.output))
        _no_traceback(block, "the block", process.output)
        _shows(block, shown, process.output)
    finally:
        process.close()


def _shows(block: Block, shown: Block | None, output: str) -> None:
    """Each line of the ``docs: output`` block ``shown`` is a line of ``output``."""
    if shown is None:
        return
    missing = missing_lines(shown.expected_output(), output)
    if missing:
        pytest.fail(
            report(block, "the block", 0, output, "")
            + f"\nthe output shown at {shown.id} has lines it never printed: {missing}"
        )


def missing_lines(expected: Sequence[str], output: str) -> list[str]:
    """The expected lines that no output line matches (``...`` matches any text)."""
    actual = [line.strip() for line in output.splitlines()]
    missing = []
    for line in expected:
        pattern = re.compile(".*".join(re.escape(part) for part in line.strip().split("...")))
        # Log lines carry a time and a level first: match the end of a line.
        if not any(
            pattern.fullmatch(got) or re.search(pattern.pattern + r"\Z", got) for got in actual
        ):
            missing.append(line.strip())
    return missing


def _failed(output: str) -> str:
    found = re.findall(r"^docs: `(.*)` exited with status", output, flags=re.MULTILINE | re.DOTALL)
    return found[-1] if found else "the block"


def _missing(texts: Sequence[str]) -> str:
    return f"; never printed all of {list(texts)} (waited {DEADLINE:.0f} s)"


def _no_traceback(block: Block, command: str, output: str) -> None:
    if "Traceback (most recent call last)" in output:
        pytest.fail(report(block, command, 0, output, ", but printed a traceback"))


def run_background(
    argv: Sequence[str],
    block: Block,
    label: str,
    cwd: Path,
    env: Mapping[str, str],
    *,
    killed_is_stopped: bool = False,
    shown: Block | None = None,
) -> None:
    """A command meant to run until stopped: up, alive, stopped by SIGTERM, exit 0.

    ``killed_is_stopped``: a script with no SIGTERM handler (a Python snippet) may also
    end by the signal itself. ``shown``: a ``docs: output`` block of lines it prints.
    """
    process = Process(argv, cwd, env)
    try:
        directive = block.directive
        if directive.until:
            if not process.wait_for(directive.until, DEADLINE):
                status = process.wait_end(0)
                pytest.fail(report(block, label, status, process.output, _missing(directive.until)))
        else:
            status = process.wait_end(directive.seconds)
            if status is not None:
                pytest.fail(report(block, label, status, process.output, " before it was stopped"))
        status = process.terminate()
        stopped = (0, -signal.SIGTERM) if killed_is_stopped else (0,)
        if status not in stopped:
            pytest.fail(report(block, label, status, process.output, " when stopped by SIGTERM"))
        _no_traceback(block, label, process.output)
        _shows(block, shown, process.output)
    finally:
        process.close()


def run_shell_background(
    block: Block, source: str, cwd: Path, env: Mapping[str, str], shown: Block | None = None
) -> None:
    """Each command of the block in turn: up, alive, then stopped."""
    for command in Block(block.path, block.line, "bash", source).commands():
        if is_pip_install(command):
            continue
        # exec: SIGTERM reaches the command itself, not a shell waiting for it.
        argv = ["bash", "-c", f"exec {command}"]
        run_background(argv, block, command, cwd, env, shown=shown)


def given(block: Block, cwd: Path, env: Mapping[str, str]) -> None:
    """The ``given=`` commands: what the reader has run before this block."""
    for command in block.directive.given:
        process = Process(["bash", "-c", command], cwd, env)
        try:
            status = process.wait_end(DEADLINE)
        finally:
            process.close()
        if status != 0:
            pytest.fail(report(block, command, status, process.output, " (given= before it)"))


@contextlib.contextmanager
def beside(block: Block, cwd: Path, env: Mapping[str, str]) -> Iterator[None]:
    """The program a ``beside=`` block needs running: up before, stopped after."""
    command = block.directive.beside
    if command is None:
        yield
        return
    process = Process(["bash", "-c", f"exec {command}"], cwd, env)
    try:
        if not process.wait_for(block.directive.ready, DEADLINE):
            status = process.wait_end(0)
            pytest.fail(
                report(block, command, status, process.output, _missing(block.directive.ready))
            )
        yield
        if block.directive.stops:
            status = process.wait_end(DEADLINE)
            if status != 0:
                pytest.fail(report(block, command, status, process.output, " (the block stops it)"))
            return
        status = process.terminate()
        if status != 0:
            pytest.fail(report(block, command, status, process.output, " when stopped by SIGTERM"))
    finally:
        process.close()


def run_console(block: Block, cwd: Path, env: Mapping[str, str]) -> None:
    """``$ command`` lines: each exits as the directive says and prints the lines shown."""
    output = ""
    commands = _commands_to_run(block)
    for command in commands:
        process = Process(["bash", "-c", command], cwd, env)
        try:
            status = process.wait_end(DEADLINE)
            output += process.output + "\n"
        finally:
            process.close()
        if status != block.directive.exit:
            pytest.fail(
                report(block, command, status, process.output, f", not {block.directive.exit}")
            )
    missing = missing_lines(block.expected_output(), output)
    if missing:
        pytest.fail(
            report(block, " && ".join(commands), block.directive.exit, output, "")
            + f"\nno output line reads {missing[0]!r}"
        )


def run_python(block: Block, source: str, cwd: Path, env: Mapping[str, str]) -> None:
    """A Python snippet, as a script of its own (``python snippet.py``)."""
    script = cwd / f"_docs_{Path(block.path).stem}_{block.line}.py"
    script.write_text(source, encoding="utf-8")
    argv = [sys.executable, str(script)]
    label = f"python {script.name}"
    if block.directive.background:
        run_background(argv, block, label, cwd, env, killed_is_stopped=True)
        return
    process = Process(argv, cwd, env)
    try:
        status = process.wait_end(DEADLINE)
        if status != 0:
            pytest.fail(report(block, label, status, process.output))
    finally:
        process.close()

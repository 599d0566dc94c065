"""``bash``: run a shell command in its own process group.

Options:
    command: the command line. ``{placeholders}`` are filled from the context without
        ever becoming shell syntax (each value reaches bash as a variable the command
        refers to: through the environment, or a private file for values over 64 KiB);
        in arithmetic contexts a value must be an integer literal and where bash reads
        a variable name a plain name, else the action returns its error event
        (:class:`~statemachine_engine.errors.ShellValueError`). ``{x|raw}`` inserts a
        trusted value verbatim and ``quote: false`` does so for the whole command.
        A command text over 64 KiB (long ``{x|raw}`` values, say) runs from a
        private file that ``bash -c`` sources, since argv cannot hold it.
    timeout: seconds (or ``90s``, ``5m``, ``2h``) before the whole process group is
        killed (default 300).
    cwd: working directory. env: extra environment variables (mapping).
    success: event on exit status 0 (default ``job_done``).
    error: event on any other status or a timeout (default ``error``).
    error_mappings: ``{exit_status: event}`` overriding ``error`` per status.
    store_as: also store ``{stdout, stderr, exit_code}`` under this context key.
    log_output: ``false`` keeps the command's lines out of the machine's log and its
        realtime events (by default each line of its stdout and stderr is logged as it
        comes, whole, and streamed to monitors in ``bash_output`` events, a few a second
        at most: see :mod:`._output_events`).

The command's process group dies with the machine: its shell gets SIGKILL when the
machine's process dies, a watch process kills the rest of the group then, and the group,
recorded in the store before the command starts, is killed by the machine's next run
should the watch be gone too (see :mod:`.._process_groups`).

Context written: ``stdout``, ``stderr`` (trailing newlines stripped, at most 1 MiB
each), ``exit_code`` (124 on timeout, like coreutils' ``timeout``) and, on failure,
``last_error`` and ``last_output`` (the ends of stdout and stderr, which ``fail_job``
keeps with the job; removed again on success). A job's data never supplies the command:
only the config does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import shutil
import signal
import tempfile
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any, NamedTuple

from ...context._shell_render import shell_command
from ...errors import ShellValueError
from .._failure_output import LAST_OUTPUT, failure_output
from .._process_groups import GroupWatch, dying_with_parent
from ..base import BaseAction, event_names, seconds_option, settings_of
from ._output_events import OutputEvents

DEFAULT_TIMEOUT_SECONDS = 300.0
TIMEOUT_EXIT_CODE = 124
KILL_GRACE_SECONDS = 2.0
MAX_CAPTURE_BYTES = 1024 * 1024
#: Linux refuses one argument over 128 KiB (E2BIG): a command text longer than this, in
#: bytes (with ``{x|raw}`` values written in, say), runs from a file instead.
LARGE_COMMAND_BYTES = 64 * 1024


class BashAction(BaseAction):
    """Run ``command`` with ``/bin/sh``-compatible ``bash`` semantics."""

    options = frozenset(
        {"command", "cwd", "env", "error_mappings", "log_output", "quote", "store_as", "timeout"}
    )

    default_success = "job_done"
    other_events = {}
    writes = frozenset({"stdout", "stderr", "exit_code", "last_error", LAST_OUTPUT})
    raw_options = frozenset({"command"})
    shell_options = frozenset({"command"})

    @classmethod
    def emitted_events(cls, options: Mapping[str, Any]) -> frozenset[str] | None:
        events = super().emitted_events(options)
        mappings = options.get("error_mappings")
        if events is None or not isinstance(mappings, Mapping):
            return events
        return event_names([*events, *mappings.values()])

    def _log_line(
        self, context: Mapping[str, Any], streamed: OutputEvents | None
    ) -> Callable[[str, str], None]:
        """Logs each line the command writes, as it comes, under its machine's name (and
        streams it to monitors in ``bash_output`` events)."""
        machine = context.get("machine_name", "?")

        def log(stream: str, line: str) -> None:
            if streamed is not None:
                streamed.line(stream, line)
            self.logger.info(
                "[%s] %s%s",
                machine,
                "! " if stream == "stderr" else "| ",
                line,
                extra={"action": "bash_output", "machine": machine, "stream": stream},
            )

        return log

    async def execute(self, context: dict[str, Any]) -> str | None:
        template = self.get_config_value("command")
        if not template:
            raise ValueError("bash action needs a 'command'")
        quote = self.get_config_value("quote", True) is not False
        try:
            prepared = shell_command(str(template), context, quote=quote)
        except ShellValueError as exc:
            context["last_error"] = str(exc)
            self.logger.warning(
                "[%s] bash command refused: %s",
                context.get("machine_name", "?"),
                exc,
                extra={
                    "action": "bash_refused",
                    "machine": context.get("machine_name"),
                    "placeholder": exc.placeholder,
                    "error": str(exc),
                },
            )
            return self.error_event
        timeout = seconds_option(self, "timeout", DEFAULT_TIMEOUT_SECONDS)
        self.logger.debug("running: %s", prepared.display, extra={"action": "bash_start"})
        extra_env = self.get_config_value("env") or {}
        if not isinstance(extra_env, Mapping):
            raise ValueError("bash 'env' must be a mapping of variable names to values")

        logged = self.get_config_value("log_output", True) is not False
        streamed = (
            OutputEvents(self.runtime.emit, self.runtime.state) if logged and self.runtime else None
        )
        # Values too large for the environment: the command reads each file named there.
        with _private_files(prepared.files, "statemachine-values-") as file_env:
            try:
                result = await run_command(
                    prepared.command,
                    timeout=timeout,
                    cwd=self.get_config_value("cwd"),
                    env=settings_of(self).child_environment(
                        {**extra_env, **prepared.env, **file_env}
                    ),
                    on_start=getattr(self.runtime, "record_process_group", None),
                    on_line=self._log_line(context, streamed) if logged else None,
                )
            finally:
                if streamed is not None:
                    streamed.close()
        outputs = {"stdout": result.stdout, "stderr": result.stderr, "exit_code": result.exit_code}
        context.update(outputs)
        store_as = self.get_config_value("store_as")
        if store_as:
            context[str(store_as)] = outputs
        if result.exit_code == 0:
            context.pop(LAST_OUTPUT, None)
            return self.success_event
        context[LAST_OUTPUT] = failure_output(result.stdout, result.stderr, result.exit_code)
        if result.timed_out:
            context["last_error"] = f"command timed out after {timeout:g}s"
        else:
            detail = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
            context["last_error"] = f"command exited with status {result.exit_code}" + (
                f": {detail}" if detail else ""
            )
        # A failure the config routes (an `error:` event, an `error_mappings` entry) is
        # a branch it chose, like `test {count} -lt 3`; one it leaves to the default
        # event is a problem. (If nothing takes the routed event, the engine warns.)
        routed = self.get_config_value("error") is not None or bool(
            self.get_config_value("error_mappings")
        )
        self.logger.log(
            logging.INFO if routed else logging.WARNING,
            "[%s] bash command failed: %s",
            context.get("machine_name", "?"),
            context["last_error"],
            extra={
                "action": "bash_failed",
                "machine": context.get("machine_name"),
                "exit_code": result.exit_code,
                "error": context["last_error"],
            },
        )
        return self._mapped_error(result.exit_code)

    def _mapped_error(self, exit_code: int) -> str:
        mappings = self.get_config_value("error_mappings")
        if isinstance(mappings, Mapping):
            for key, event in mappings.items():
                if str(key) == str(exit_code):
                    return str(event)
        return self.error_event


@contextlib.contextmanager
def _private_files(contents: Mapping[str, str], prefix: str) -> Iterator[dict[str, str]]:
    """Write each text to an owner-only file named by its key (a name of ours, never
    data), all removed on the way out however it goes. Yields the paths by key."""
    if not contents:
        yield {}
        return
    directory = tempfile.mkdtemp(prefix=prefix)  # mode 0700
    try:
        paths: dict[str, str] = {}
        for key, text in contents.items():
            path = os.path.join(directory, key)
            with open(
                path, "x", encoding="utf-8", errors="surrogateescape", opener=_owner_only
            ) as handle:
                handle.write(text)
            paths[key] = path
        yield paths
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _owner_only(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


class CommandResult(NamedTuple):
    stdout: str
    stderr: str
    exit_code: int
    timed_out: bool = False


async def run_command(
    command: str,
    *,
    timeout: float,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    on_start: Callable[[int], Awaitable[None]] | None = None,
    on_line: Callable[[str, str], None] | None = None,
) -> CommandResult:
    """Run ``command`` with bash in a new session.

    The whole process group is killed on timeout (exit code 124) and when the
    calling task is cancelled (the machine left the state). When this process dies the
    shell gets SIGKILL (``PR_SET_PDEATHSIG``) and a :class:`GroupWatch` kills the rest
    of its group; ``on_start(pgid)`` is awaited once it runs, to record its group (see
    :mod:`.._process_groups`). A command text over :data:`LARGE_COMMAND_BYTES` runs from
    an owner-only file, removed when the command ends. ``env`` is the command's whole
    environment (None: this process's). ``on_line(stream, line)`` gets each line of its
    stdout and stderr as it comes, whole however long (what the result keeps of each
    stream is capped: :data:`MAX_CAPTURE_BYTES`).
    """
    large = len(command.encode("utf-8", "surrogateescape")) > LARGE_COMMAND_BYTES
    with _private_files({"command": command} if large else {}, "statemachine-command-") as files:
        if files:
            # Sourced by `bash -c`, so that $0 and "$@" stay as for a command text.
            command = ". " + shlex.quote(files["command"])
        if on_start is not None:
            # The command waits until its group is recorded: a machine killed in between
            # cannot leave behind something nobody knows about.
            command = _GATE + command
        return await _run(command, timeout, cwd, env, on_start, on_line)


async def _run(
    command: str,
    timeout: float,
    cwd: str | None,
    env: Mapping[str, str] | None,
    on_start: Callable[[int], Awaitable[None]] | None,
    on_line: Callable[[str, str], None] | None,
) -> CommandResult:
    dying = dying_with_parent()
    spawn = asyncio.ensure_future(
        asyncio.create_subprocess_exec(
            *dying.prefix,
            "bash",
            "-c",
            command,
            stdin=asyncio.subprocess.DEVNULL if on_start is None else asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=cwd,
            env=env,
            start_new_session=True,
            preexec_fn=dying.preexec,
        )
    )
    try:
        process = await asyncio.shield(spawn)
    except asyncio.CancelledError:
        # Cancelled while the shell was starting (it may already be running): asyncio
        # would kill only the shell and then wait for pipes its children hold open.
        # Let the start finish, then end the whole group.
        with contextlib.suppress(Exception):
            await _kill_group(await spawn)
        raise
    # Started before the gate opens: until then the shell has forked nothing, and it
    # dies with this process by itself.
    watch = GroupWatch.start(process.pid)
    try:
        if on_start is not None:
            await on_start(process.pid)
            _open_gate(process)
        out, err = await asyncio.wait_for(_collect(process, on_line), timeout)
        # Children that outlived the shell still belong to the group: end them too.
        _signal_group(process.pid, signal.SIGKILL)
    except asyncio.TimeoutError:
        await _kill_group(process)
        return CommandResult("", "", TIMEOUT_EXIT_CODE, timed_out=True)
    except BaseException:
        await asyncio.shield(_kill_group(process))
        raise
    finally:
        if watch is not None:
            watch.stop()  # the group is dealt with: nothing of it is left to watch
    assert process.returncode is not None
    return CommandResult(_decode(out), _decode(err), process.returncode)


#: Put before a command (on its first line, so that $LINENO is kept) to make it wait for
#: :func:`_open_gate`; its stdin is then /dev/null as for any other command.
_GATE = "IFS= read -r _ || exit 1; exec </dev/null; "


def _open_gate(process: asyncio.subprocess.Process) -> None:
    assert process.stdin is not None
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        process.stdin.write(b"\n")
        process.stdin.close()


async def _collect(
    process: asyncio.subprocess.Process, on_line: Callable[[str, str], None] | None
) -> tuple[bytes, bytes]:
    assert process.stdout is not None
    assert process.stderr is not None
    out, err, _ = await asyncio.gather(
        _read_capped(process.stdout, "stdout", on_line),
        _read_capped(process.stderr, "stderr", on_line),
        process.wait(),
    )
    return out, err


async def _read_capped(
    stream: asyncio.StreamReader, name: str, on_line: Callable[[str, str], None] | None
) -> bytes:
    """Read to EOF, keeping at most the last :data:`MAX_CAPTURE_BYTES`; each whole line
    goes to ``on_line(name, line)`` as it comes."""
    chunks: list[bytes] = []
    size = 0
    unfinished: list[bytes] = []  # the current line's pieces (a long line spans chunks)
    while chunk := await stream.read(65536):
        chunks.append(chunk)
        size += len(chunk)
        while size - len(chunks[0]) >= MAX_CAPTURE_BYTES:
            size -= len(chunks.pop(0))
        if on_line is not None:
            *lines, rest = chunk.split(b"\n")
            for line in lines:
                unfinished.append(line)
                on_line(name, b"".join(unfinished).decode("utf-8", errors="replace"))
                unfinished = []
            if rest:
                unfinished.append(rest)
    if on_line is not None and unfinished:
        on_line(name, b"".join(unfinished).decode("utf-8", errors="replace"))
    return b"".join(chunks)[-MAX_CAPTURE_BYTES:]


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace").rstrip("\n")


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


async def _kill_group(process: asyncio.subprocess.Process) -> None:
    """SIGTERM the group, SIGKILL whatever is left after a grace period, reap the shell."""
    _signal_group(process.pid, signal.SIGTERM)
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(process.wait(), KILL_GRACE_SECONDS)
    _signal_group(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        await process.wait()

"""The fork server: machine processes forked from an interpreter that has the engine loaded.

``python -m statemachine_engine child.yaml`` pays for an interpreter and the engine's
imports, about a tenth of a second of CPU, for every child a controller starts: a
hundred children keep both cores busy for seconds. A controller's first process child
(``start_fsm``) starts this server instead (:mod:`.actions._fork_client`), once; it
imports what a machine needs and then, for each request, forks: the child has all of it
loaded already and only runs the command line's ``main``.

The server talks to its controller over the socketpair it was started with (its file
descriptor is the one argument): nothing else can reach it. A request is one JSON
datagram ``{"argv": [...], "env": {...}, "cwd": "..."}`` carrying the child's stdout and
stderr as file descriptors; the answer is ``{"pid": N}`` or ``{"error": "..."}``. Each
child runs in a session of its own, with stdin from ``/dev/null``, so it outlives the
controller and this server, as a process started with ``subprocess`` did. The server
reaps its children, and exits when the controller closes its end.

It must stay single-threaded and hold no open store or event loop when it forks: the
children inherit its memory, and nothing but imported modules may be in it.

``ps`` shows each child's own command line, as if it had been started with it
(``python -m statemachine_engine child.yaml --machine-name ...``): the server is started
with :data:`COMMAND_LINE_ROOM` bytes of arguments, and a child writes its command line
over them (Linux; ``/proc/self/mem``), so operators and their scripts find a machine's
process, and can run its command line again, as before.
"""

from __future__ import annotations

import importlib
import json
import os
import select
import signal
import socket
import sys
from typing import Any

#: What a machine process imports: loaded once here, shared by every child.
PRELOAD = (
    "statemachine_engine.cli",
    "statemachine_engine.core.engine",
    "statemachine_engine.core._host",
    "statemachine_engine.database._sqlite",
    "statemachine_engine.config.loader",
    "statemachine_engine.actions.builtin",
    "sqlite3",
    "yaml",
)
#: Largest request read (a child's environment and initial context travel in it).
MAX_REQUEST = 1 << 20
#: Children are reaped at least this often (seconds) while no request comes.
REAP_SECONDS = 1.0
READY = b'{"ready": true}'
#: Bytes of command line the server is started with: a child's must fit in them (the
#: client starts a longer one with a fresh interpreter).
COMMAND_LINE_ROOM = 16 * 1024


def serve(channel: socket.socket) -> None:
    """Answer requests on ``channel`` until its other end closes."""
    for name in PRELOAD:
        importlib.import_module(name)
    channel.sendall(READY)
    while True:
        readable, _, _ = select.select([channel], [], [], REAP_SECONDS)
        _reap()
        if not readable:
            continue
        try:
            message, fds, _, _ = socket.recv_fds(channel, MAX_REQUEST, 2)
        except OSError:
            return
        if not message:
            return  # the controller is gone
        answer: dict[str, Any]
        try:
            answer = {"pid": _fork(channel, json.loads(message), fds)}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            answer = {"error": str(exc)}
        finally:
            for fd in fds:
                os.close(fd)
        channel.sendall(json.dumps(answer).encode())


def _fork(channel: socket.socket, request: dict[str, Any], fds: list[int]) -> int:
    argv = [str(arg) for arg in request["argv"]]
    env = {str(key): str(value) for key, value in request["env"].items()}
    cwd = str(request["cwd"])
    if len(fds) != 2:
        raise ValueError("a request carries the child's stdout and stderr")
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, which ends with os._exit
        _run_child(channel, argv, env, cwd, fds)
    return pid


def _run_child(
    channel: socket.socket, argv: list[str], env: dict[str, str], cwd: str, fds: list[int]
) -> None:  # pragma: no cover - measured by the tests that start children
    code = 1
    try:
        channel.close()
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # ignored by the server
        stdin = os.open(os.devnull, os.O_RDONLY)
        os.dup2(stdin, 0)
        os.dup2(fds[0], 1)
        os.dup2(fds[1], 2)
        for fd in (stdin, *fds):
            os.close(fd)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        retitle([sys.executable, "-m", "statemachine_engine", *argv])
        import random

        random.seed()  # not the sequence every sibling inherited
        from .cli import main

        sys.argv = [sys.argv[0], *argv]
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def retitle(args: list[str]) -> bool:
    """Show ``args`` as this process's command line (``/proc/self/cmdline``, ``ps``):
    written over the arguments it was started with, when they have the room."""
    try:
        with open("/proc/self/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        start, end = int(fields[45]), int(fields[46])  # arg_start, arg_end
        text = b"\0".join(arg.encode("utf-8", "surrogateescape") for arg in args) + b"\0"
        if len(text) > end - start:
            return False
        with open("/proc/self/mem", "r+b", buffering=0) as memory:
            memory.seek(start)
            memory.write(text.ljust(end - start, b"\0"))
    except (OSError, IndexError, ValueError):
        return False
    return True


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the controller's Ctrl-C is its own
    retitle([sys.executable, "-m", "statemachine_engine._fork_server", args[0]])
    serve(socket.socket(fileno=int(args[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The supervisor's control socket: owner-only, one JSON request and answer per
connection, bounded, and a clear error when nobody listens."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
from pathlib import Path
from typing import Any

import pytest

from statemachine_engine.errors import StateMachineError
from statemachine_engine.system._control import MAX_MESSAGE_BYTES, ControlServer, ask


async def _echo(request: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "said": [request.get("command")]}


def _raw(path: Path, data: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


async def test_requests_are_answered_and_bad_ones_refused(tmp_path: Path) -> None:
    path = tmp_path / "system-demo.sock"
    path.write_bytes(b"")  # not a socket: refused, never removed
    server = ControlServer(path, _echo)
    with pytest.raises(StateMachineError, match="it is an existing file, not a socket"):
        await server.start()
    path.unlink()
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))  # what a supervisor killed outright leaves behind
    stale.close()
    await server.start()
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        answer = await asyncio.to_thread(ask, path, {"command": "restart"}, timeout=10)
        assert answer == {"ok": True, "said": ["restart"]}
        for data, error in (
            (b"not json\n", "bad request: Expecting value"),
            (b"[1, 2]\n", "bad request: not a JSON object"),
            (b"x" * (MAX_MESSAGE_BYTES + 10), "bad request: "),
        ):
            said = await asyncio.to_thread(_raw, path, data)
            assert said.startswith(b'{"ok": false, "error": "' + error.encode()), said
    finally:
        await server.close()
    assert not path.exists()
    with pytest.raises(StateMachineError, match="the supervisor does not listen on"):
        ask(path, {"command": "restart"}, timeout=10)

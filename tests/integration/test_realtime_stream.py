"""The realtime stream sends to the monitor's socket when one is there, stops trying while
none is, and reaches a monitor the moment it starts."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from statemachine_engine.messaging._realtime import RealtimeStream


def monitor(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    return sock


def received(sock: socket.socket) -> list[str]:
    types = []
    while True:
        try:
            types.append(json.loads(sock.recv(65536))["type"])
        except BlockingIOError:
            return types


async def test_a_monitor_that_starts_after_sends_that_found_none_hears_the_next(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.sock"
    stream = RealtimeStream(path)
    stream.send("m", 1, "before", {})  # nobody listens: dropped, no error
    stream.send("m", 2, "still_before", {})
    listening = monitor(path)  # in the same clock tick as the sends, perhaps
    stream.send("m", 3, "after", {"n": 1})
    assert received(listening) == ["after"]
    await stream.close()
    listening.close()


async def test_a_monitor_that_restarts_over_its_stale_socket_is_reached(tmp_path: Path) -> None:
    path = tmp_path / "events.sock"
    stream = RealtimeStream(path)
    first = monitor(path)
    stream.send("m", 1, "one", {})
    assert received(first) == ["one"]
    first.close()  # killed: its socket file stays, refusing datagrams
    stream.send("m", 2, "lost", {})
    stamp = os.stat(tmp_path).st_mtime_ns - 10**9  # as if the failure was long ago
    os.utime(tmp_path, ns=(stamp, stamp))
    stream.send("m", 3, "lost_too", {})
    path.unlink()
    second = monitor(path)
    stream.send("m", 4, "two", {})
    assert received(second) == ["two"]
    await stream.close()
    second.close()

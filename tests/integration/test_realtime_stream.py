"""The realtime stream sends to the monitor's socket when one is there, stops trying while
none is, and reaches a monitor from the next turn of the event loop after it starts."""

from __future__ import annotations

import asyncio
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


async def test_while_none_listens_the_directory_is_looked_at_once_a_turn(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.sock"
    stamp = os.stat(tmp_path).st_mtime_ns - 10**9  # a directory long as it is
    os.utime(tmp_path, ns=(stamp, stamp))
    stream = RealtimeStream(path)
    stream.send("m", 1, "before", {})  # nobody listens: the directory is stamped
    stream.send("m", 2, "still_before", {})  # as stamped: dropped, for this turn
    listening = monitor(path)
    stream.send("m", 3, "same_turn", {})  # not looked at again in this turn
    await asyncio.sleep(0)
    stream.send("m", 4, "next_turn", {"n": 1})
    assert received(listening) == ["next_turn"]
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

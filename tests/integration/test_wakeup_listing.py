"""Wake-ups find the listeners of a socket directory without listing it at every commit,
and never miss a listener that binds between two commits."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from statemachine_engine.database._wakeup import notify


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    path = tmp_path / "s"
    path.mkdir(mode=0o700)
    return path


def listen(directory: Path, pid: int) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(directory / f"wake-{pid}.sock"))
    sock.setblocking(False)
    return sock


def heard(sock: socket.socket) -> bytes:
    return sock.recv(4096)


def age(directory: Path, seconds: float) -> int:
    """Set the directory's mtime ``seconds`` in the past; returns it (ns)."""
    stamp = os.stat(directory).st_mtime_ns - int(seconds * 1e9)
    os.utime(directory, ns=(stamp, stamp))
    return stamp


def test_a_listener_bound_right_after_a_wake_up_is_woken_by_the_next(directory: Path) -> None:
    assert notify("jobs", directory) == 0
    first = listen(directory, 111_111)
    assert notify("jobs", directory) == 1
    # Bound within the same clock tick as the listing, perhaps: the mtime may not move.
    second = listen(directory, 222_222)
    assert notify("jobs", directory) == 2
    assert heard(second) == b'{"topic": "jobs"}'
    assert [heard(first), heard(first)] == [b'{"topic": "jobs"}'] * 2
    first.close()
    second.close()


def test_an_unchanged_directory_is_not_listed_again(directory: Path) -> None:
    first = listen(directory, 111_111)
    stamp = age(directory, 1.0)
    assert notify("jobs", directory) == 1  # listed long after its last change: kept
    hidden = listen(directory, 333_333)
    os.utime(directory, ns=(stamp, stamp))  # as if nothing had changed
    assert notify("jobs", directory) == 1, "the kept listing was used"
    later = listen(directory, 444_444)  # a change: the directory is listed again
    assert notify("jobs", directory) == 3
    for sock in (first, hidden, later):
        sock.close()

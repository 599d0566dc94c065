"""Log files: owner-only, rotated by size, the next file owner-only again."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from statemachine_engine._logs import rotating_file_handler
from statemachine_engine.errors import StateMachineError


def test_a_log_file_rotates_and_stays_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "m.log"
    handler = rotating_file_handler(path, max_bytes=100, keep=2)
    try:
        for n in range(12):
            handler.emit(logging.makeLogRecord({"msg": f"line {n:02d} " + "x" * 20}))
    finally:
        handler.close()
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["m.log", "m.log.1", "m.log.2"]
    for name in files:
        assert os.stat(path.parent / name).st_mode & 0o777 == 0o600
    assert os.stat(path.parent).st_mode & 0o777 == 0o700
    assert "line 11" in path.read_text()


def test_a_log_file_behind_a_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").write_text("")
    (tmp_path / "m.log").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(StateMachineError, match="cannot open log file"):
        rotating_file_handler(tmp_path / "m.log")

"""What the UI learns of a system: the machines it expects merged into the list, the
UI's address from its own line, and the log files it may read."""

from __future__ import annotations

import os
from pathlib import Path

from statemachine_engine.monitoring._machines import with_expected
from statemachine_engine.system._logview import read_log, safe_log
from statemachine_engine.system._ui import served_url


def test_expected_machines_are_added_as_not_running_and_known_ones_get_restarts() -> None:
    live = {"name": "worker_001", "status": "live", "state": "waiting"}
    merged = with_expected(
        [live, {"name": "by_hand", "status": "live"}],
        [
            {"name": "worker_002", "config": "worker", "restarts": 2, "process_state": "backoff"},
            {"name": "worker_001", "config": "worker", "restarts": 2, "process_state": "backoff"},
        ],
    )
    assert [m["name"] for m in merged] == ["by_hand", "worker_001", "worker_002"]
    assert "expected" not in merged[0]
    assert (merged[1]["status"], merged[1]["restarts"], merged[1]["expected"]) == ("live", 2, True)
    missing = merged[2]
    assert (missing["status"], missing["config"], missing["template"]) == (
        "not running",
        "worker",
        "worker",
    )
    assert (missing["pid"], missing["process_state"]) == (None, "backoff")


def test_the_ui_address_is_read_from_its_serving_line() -> None:
    line = "statemachine-ui: serving http://127.0.0.1:40123/ (events from /run/x.sock)"
    assert served_url(line) == "http://127.0.0.1:40123/"
    assert served_url("statemachine-ui: serving http://[::1]:3001/") == "http://[::1]:3001/"
    assert served_url("something else") is None


def test_only_regular_log_files_of_the_directory_are_read(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "worker.log").write_text("a\nb\n")
    (logs / "linked.log").symlink_to(logs / "worker.log")
    (logs / "dir.log").mkdir()
    assert safe_log(logs, "worker") == logs / "worker.log"
    assert safe_log(logs, "new") == logs / "new.log"  # no lines yet
    for bad in ("linked", "dir", "../logs/worker", ".hidden", ""):
        assert safe_log(logs, bad) is None, bad
    assert read_log(logs / "new.log", lines=5, cursor=None, keep=1) == {"lines": [], "cursor": None}
    first = read_log(logs / "worker.log", lines=5, cursor=None, keep=1)
    assert first["lines"] == ["a", "b"]
    assert first["cursor"] == f"{os.stat(logs / 'worker.log').st_ino}:4"


def test_a_line_longer_than_one_read_comes_in_pieces(tmp_path: Path) -> None:
    from statemachine_engine.system._logview import MAX_READ_BYTES

    path = tmp_path / "long.log"
    path.write_text("")
    start = read_log(path, lines=1, cursor=None, keep=0)
    path.write_text("x" * (MAX_READ_BYTES + 10) + "\nend\n")
    first = read_log(path, lines=1, cursor=start["cursor"], keep=0)
    assert [len(line) for line in first["lines"]] == [MAX_READ_BYTES]
    rest = read_log(path, lines=1, cursor=first["cursor"], keep=0)
    assert rest["lines"] == ["x" * 10, "end"]

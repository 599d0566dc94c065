"""``statemachine-db`` refusing what it must not let in: numbers its store cannot hold,
delays no date can show, blank or overlong names, a directory for a store. Each is one
line and exit status 2 (1 for the directory), before the store is touched, with the
message the other doors (``add-job --from`` lines) give for the same rule; and values
older versions let in are shown, not crashed on. Real processes, a real SQLite file.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from statemachine_engine.config._timeouts import MAX_DELAY_SECONDS
from statemachine_engine.database._sqlite import SqliteStore
from tests.acceptance.test_db_cli import fails, ok, ok_json, run, with_store
from tests.support.files import sql, write
from tests.support.processes import console_script

LONG = "x" * 301
BEYOND_64_BITS = "99999999999999999999999"
FAR = "must be at most 100 years ahead (3155760000 seconds)"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store" / "jobs.db"


def refused(db: Path, *args: str) -> str:
    """Run a command that must be refused as bad usage before the store is touched; the
    error line (after argparse's usage lines)."""
    result = run(*args, db=db)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert not db.exists()  # nothing written, not even a new store
    return result.stderr.strip().splitlines()[-1]


def from_line(db: Path, tmp_path: Path, line: str) -> str:
    """What ``add-job --from`` says of a file of one bad ``line``."""
    jobs = write(tmp_path / "jobs.jsonl", line + "\n")
    result = run("add-job", "--from", jobs, db=db)
    assert result.returncode == 2, result.stderr
    said, summary = result.stderr.splitlines()
    assert summary.endswith("1 of 1 line is bad; nothing was queued: fix it and run it again")
    assert not db.exists()
    return said.removeprefix("statemachine-db: error: ")


# -- whole numbers -----------------------------------------------------------------------


@pytest.mark.parametrize("priority", [BEYOND_64_BITS, "-9223372036854775809", "2147483648"])
def test_a_priority_beyond_32_bits_is_refused_as_a_from_line_is(
    db: Path, tmp_path: Path, priority: str
) -> None:
    line = refused(db, "add-job", "--type", "t", "--priority", priority)
    assert line.startswith(
        "statemachine-db add-job: error: argument --priority: "
        "must be from -2147483648 to 2147483647, not "
    )
    rule = line.split("argument --priority: ")[1]
    said = from_line(db, tmp_path, f'{{"type": "t", "priority": "{priority}"}}')
    assert said == f"line 1: priority {rule}"


def test_the_edges_of_32_bits_are_priorities(db: Path) -> None:
    low = ok_json("add-job", "low", "--type", "t", "--priority", "-2147483648", db=db)
    high = ok_json("add-job", "high", "--type", "t", "--priority", "2147483647", db=db)
    assert (low["priority"], high["priority"]) == (-(2**31), 2**31 - 1)


@pytest.mark.parametrize("attempts", ["0", "2147483648", BEYOND_64_BITS])
def test_max_attempts_is_from_1_to_32_bits(db: Path, attempts: str) -> None:
    line = refused(db, "add-job", "--type", "t", "--max-attempts", attempts)
    assert "argument --max-attempts: must be from 1 to 2147483647, not " in line


@pytest.mark.parametrize(
    "command", [["list"], ["list-events"], ["transition-history"], ["error-history"]]
)
@pytest.mark.parametrize("limit", ["0", "2147483648", BEYOND_64_BITS])
def test_every_limit_is_from_1_to_32_bits(db: Path, command: list[str], limit: str) -> None:
    line = refused(db, *command, "--limit", limit)
    assert line.endswith(f"error: argument --limit: must be from 1 to 2147483647, not {limit}")


def test_an_event_id_beyond_64_bits_is_refused(db: Path) -> None:
    line = refused(db, "cancel-event", BEYOND_64_BITS)
    assert line == (
        "statemachine-db cancel-event: error: argument EVENT_ID: "
        f"must be from 1 to 9223372036854775807, not {BEYOND_64_BITS}"
    )


# -- delays ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["add-job", "--type", "t", "--delay", "1e300"],
        ["add-job", "--type", "t", "--delay", "877000h"],
        ["send-event", "--target", "w", "--type", "stop", "--delay", "99999999999999h"],
        ["send-event", "--target", "w", "--type", "stop", "--at", "2200-01-01T00:00:00+00:00"],
    ],
)
def test_a_delay_beyond_100_years_is_refused(db: Path, args: list[str]) -> None:
    option = args[-2]
    assert refused(db, *args).endswith(f"error: argument {option}: {FAR}")


def test_a_from_line_with_a_delay_beyond_100_years_is_refused(db: Path, tmp_path: Path) -> None:
    assert from_line(db, tmp_path, '{"type": "t", "delay": 1e300}') == f"line 1: delay {FAR}"


def test_a_delay_within_100_years_is_taken_as_a_duration(db: Path) -> None:
    before = time.time()
    job = ok_json("add-job", "--type", "t", "--delay", "5m", db=db)
    assert before + 300 <= job["run_after"] <= time.time() + 300
    almost = f"{MAX_DELAY_SECONDS - 3600:.0f}"
    assert ok_json("add-job", "--type", "t", "--delay", almost, db=db)["run_after"] > before


def test_the_help_of_every_delay_says_its_bound(db: Path) -> None:
    for command in ("add-job", "send-event"):
        assert "at most 100 years" in " ".join(ok(command, "--help").split())


# -- names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["add-job", "--type", ""], "add-job: error: argument --type: must not be blank"),
        (["add-job", "--type", " "], "add-job: error: argument --type: must not be blank"),
        (["add-job", "--type", "t", ""], "add-job: error: argument JOB_ID: must not be blank"),
        (
            ["add-job", "--type", "t", "--machine-type", ""],
            "add-job: error: argument --machine-type: must not be blank",
        ),
        (
            ["send-event", "--target", "", "--type", "e"],
            "send-event: error: argument --target: must not be blank",
        ),
        (
            ["send-event", "--target", "w", "--type", ""],
            "send-event: error: argument --type: must not be blank",
        ),
        (
            ["send-event", "--target", "w", "--type", "e", "--job-id", ""],
            "send-event: error: argument --job-id: must not be blank",
        ),
    ],
)
def test_a_blank_name_is_refused(db: Path, args: list[str], error: str) -> None:
    assert refused(db, *args) == f"statemachine-db {error}"


@pytest.mark.parametrize(
    ("target", "says"),
    [("a/b", "holds '/'"), ("a\nb", "holds a control character")],
)
def test_a_target_no_machine_could_be_named_is_refused(db: Path, target: str, says: str) -> None:
    error = refused(db, "send-event", "--target", target, "--type", "e")
    assert error.startswith(f"statemachine-db send-event: error: argument --target: {says}")


@pytest.mark.parametrize(
    "args",
    [
        ["add-job", "--type", LONG],
        ["add-job", "--type", "t", "--machine-type", LONG],
        ["send-event", "--target", LONG, "--type", "e"],
        ["send-event", "--target", "w", "--type", LONG],
    ],
)
def test_a_name_over_200_characters_is_refused(db: Path, args: list[str]) -> None:
    option = args[args.index(LONG) - 1]
    assert refused(db, *args).endswith(
        f"argument {option}: must be at most 200 characters, not 301"
    )


def test_the_name_rules_are_those_of_from_lines(db: Path, tmp_path: Path) -> None:
    assert from_line(db, tmp_path, '{"type": "t", "job_id": ""}') == (
        "line 1: job_id must not be blank"
    )
    assert from_line(db, tmp_path, f'{{"type": "{LONG}"}}') == (
        "line 1: job_type must be at most 200 characters, not 301"
    )


def test_a_job_id_may_be_long(db: Path) -> None:
    """Ids are often made of a path: no bound but the command line's."""
    job_id = "thumbnail:/" + "d/" * 500
    assert ok("add-job", job_id, "--type", "t", db=db).splitlines()[0] == job_id


# -- what older versions let in ----------------------------------------------------------


def test_times_no_date_can_show_are_shown_as_out_of_range(db: Path) -> None:
    async def seed(store: SqliteStore) -> None:
        await store.add_job("t", job_id="far")
        await store.save_transition(
            "worker", from_state=None, to_state="idle", event="start", context={}, timers=[]
        )
        await store.send_event("worker", "stop", due_at=time.time() + 60, source="cli")

    with_store(db, seed)
    sql(db, "UPDATE jobs SET run_after = 1e300")  # as older versions let in
    sql(db, "UPDATE machine_events SET due_at = 3.6e17")
    assert "run after:     out of range (1e+300)" in ok("details", "far", db=db)
    assert "out of range (3.6e+17)" in ok("list-events", db=db)
    assert "stop (event 1) at out of range (3.6e+17)" in ok("machine-state", db=db)
    [event] = ok_json("list-events", db=db)
    assert event["due_at"] == 3.6e17  # JSON keeps the number


# -- the store's path --------------------------------------------------------------------


def test_a_directory_is_not_a_store(tmp_path: Path) -> None:
    directory = tmp_path / "data"
    directory.mkdir()
    said = (
        f"{directory}: is a directory, not a store: give the path of a SQLite file, "
        f"such as {directory / 'pipeline.db'}"
    )
    assert fails("list", db=directory) == f"statemachine-db: error: {said}"
    assert fails("add-job", "--type", "t", db=directory) == f"statemachine-db: error: {said}"
    assert list(directory.iterdir()) == []
    config = write(
        tmp_path / "m.yaml",
        """
        name: m
        initial_state: a
        transitions:
          - {from: a, to: completed, event: go}
        """,
    )
    for argv in (["statemachine", str(config)], ["statemachine-ui", "--port", "0"]):
        script = console_script(argv[0])
        assert script is not None, f"{argv[0]} is not installed: run `pip install -e .`"
        result = subprocess.run(
            [*script, "--db", str(directory), *argv[1:]],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 1, result.stderr
        assert result.stderr.strip().splitlines()[-1] == f"{argv[0]}: error: {said}"
    assert list(directory.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["cleanup", "--older-than", "1e300"],
            "cleanup: error: argument --older-than: must be 0 to 3155760000 seconds: 1e300",
        ),
        (
            ["error-history", "--hours", "1e300"],
            "error-history: error: argument --hours: must be more than 0, at most 876600 "
            "hours: 1e300",
        ),
    ],
)
def test_an_age_beyond_a_century_is_refused(db: Path, args: list[str], error: str) -> None:
    assert refused(db, *args) == f"statemachine-db {error}"

"""The tools say what happened (issue 12, point 5), run as operators run them.

Reads never create a store; ``send-event`` to a machine the store has never seen keeps
the event and says so; a closed pipe ends every CLI quietly; ``statemachine-db`` alone
prints its help; ``--format text|json`` everywhere, old spellings kept.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from statemachine_engine.database._sqlite import SqliteStore
from tests.support.files import write

DB = [sys.executable, "-m", "statemachine_engine.database.cli"]
EVENTS = [sys.executable, "-m", "statemachine_engine.tools.events"]
UI = [sys.executable, "-m", "statemachine_engine.ui.cli"]
VALIDATE = [sys.executable, "-m", "statemachine_engine.tools.lint.cli"]
DIAGRAMS = [sys.executable, "-m", "statemachine_engine.tools.diagrams.cli"]
#: Enough output to fill a pipe's buffer (64 KiB) several times over.
MANY = 3000
READS = [
    ["status"],
    ["list"],
    ["details", "j1"],
    ["history", "j1"],
    ["machine-state"],
    ["list-events"],
    ["transition-history"],
    ["error-history"],
]
#: Changes to things a new store cannot hold: they need a store too.
CHANGES = [
    ["complete-job", "j1"],
    ["fail-job", "j1"],
    ["retry", "j1"],
    ["cancel", "j1"],
    ["remove-job", "j1"],
    ["cleanup"],
    ["purge", "--status", "dead"],
    ["reset-processing"],
    ["cleanup-events"],
]
WARNING = (
    "statemachine-db: warning: no machine named {name} has run against this store; "
    "it gets the event when it starts"
)


def run(
    argv: Sequence[str | Path], *, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(arg) for arg in argv],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        check=False,
    )


def one_error_line(result: subprocess.CompletedProcess[str], prog: str) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{prog}: error: ")
    return lines[0]


def no_store_line(prog: str, path: Path) -> str:
    return (
        f"{prog}: error: no store at {path}: nothing has run here yet; "
        "point to one with --db PATH or STATEMACHINE_DB"
    )


def fill(db: Path, jobs: int = 0, events: int = 0) -> None:
    """Put ``jobs`` jobs and ``events`` recorded realtime events in the store at ``db``."""

    async def session() -> None:
        store = SqliteStore(db)
        try:
            for number in range(jobs):
                await store.add_job("task", {"n": number}, job_id=f"job-{number:05d}")
            await store.record_realtime_batch(
                "worker", [("activity_log", {"message": f"line {n}"}) for n in range(events)]
            )
        finally:
            await store.close()

    asyncio.run(session())


# -- reads never create a store ------------------------------------------------------------


@pytest.fixture
def no_env_db(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STATEMACHINE_DB", raising=False)  # conftest sets one per test


@pytest.mark.usefixtures("no_env_db")
@pytest.mark.parametrize("args", READS + CHANGES, ids=lambda args: args[0])
def test_a_command_that_needs_a_store_creates_none_in_the_wrong_directory(
    tmp_path: Path, args: list[str]
) -> None:
    result = run([*DB, *args], cwd=tmp_path)
    expected = tmp_path / "data" / "pipeline.db"
    assert one_error_line(result, "statemachine-db") == no_store_line("statemachine-db", expected)
    assert result.stdout == ""
    assert not (tmp_path / "data").exists()


def test_db_and_environment_name_where_it_looked(tmp_path: Path) -> None:
    flag = tmp_path / "nested" / "deeper" / "jobs.db"
    env_db = tmp_path / "from-env" / "jobs.db"
    by_flag = run([*DB, "list", "--db", flag], cwd=tmp_path, env={"STATEMACHINE_DB": str(env_db)})
    assert one_error_line(by_flag, "statemachine-db") == no_store_line("statemachine-db", flag)
    by_env = run([*DB, "status"], cwd=tmp_path, env={"STATEMACHINE_DB": str(env_db)})
    assert one_error_line(by_env, "statemachine-db") == no_store_line("statemachine-db", env_db)
    assert not (tmp_path / "nested").exists()
    assert not (tmp_path / "from-env").exists()


def test_writing_commands_still_create_the_store(tmp_path: Path) -> None:
    db = tmp_path / "data" / "jobs.db"
    added = run([*DB, "--db", db, "add-job", "--type", "t", "j1"], cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert db.is_file()
    listed = run([*DB, "--db", db, "list", "--format", "json"], cwd=tmp_path)
    assert [job["job_id"] for job in json.loads(listed.stdout)] == ["j1"]


def test_statemachine_events_history_creates_no_store(tmp_path: Path) -> None:
    db = tmp_path / "data" / "pipeline.db"
    result = run([*EVENTS, "--history", "5", "--duration", "0", "--db", db], cwd=tmp_path)
    assert one_error_line(result, "statemachine-events") == no_store_line("statemachine-events", db)
    assert not db.parent.exists()


@pytest.mark.usefixtures("no_env_db")
def test_statemachine_ui_creates_no_store(tmp_path: Path) -> None:
    result = run([*UI, "--port", "0"], cwd=tmp_path)
    expected = tmp_path / "data" / "pipeline.db"
    assert one_error_line(result, "statemachine-ui") == no_store_line("statemachine-ui", expected)
    assert not (tmp_path / "data").exists()


# -- send-event to a machine nobody has seen -------------------------------------------------


def test_send_event_to_an_unseen_machine_keeps_it_and_warns(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    sent = run([*DB, "--db", db, "send-event", "--target", "wroker", "--type", "go"], cwd=tmp_path)
    assert sent.returncode == 0, sent.stderr
    assert sent.stderr.strip() == WARNING.format(name="wroker")
    event_id = int(sent.stdout.strip())
    listed = run([*DB, "--db", db, "list-events", "--format", "json"], cwd=tmp_path)
    events = json.loads(listed.stdout)
    assert [(e["id"], e["target_machine"], e["event_type"], e["status"]) for e in events] == [
        (event_id, "wroker", "go", "pending")
    ]
    as_json = run(
        [*DB, "--db", db, "send-event", "--target", "wroker", "--type", "go", "--format", "json"],
        cwd=tmp_path,
    )
    assert (
        json.loads(as_json.stdout)["warning"]
        == WARNING.format(name="wroker").split("warning: ", 1)[1]
    )


def test_send_event_to_a_machine_that_has_run_says_nothing_more(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"

    async def register() -> None:
        store = SqliteStore(db)
        try:
            await store.register_machine(
                "worker", config_name="w", config_path=None, pid=os.getpid(), host="here"
            )
        finally:
            await store.close()

    asyncio.run(register())
    sent = run([*DB, "--db", db, "send-event", "--target", "worker", "--type", "go"], cwd=tmp_path)
    assert sent.returncode == 0
    assert sent.stderr == ""


# -- a closed pipe ends every CLI quietly ------------------------------------------------------


def first_line_then_close(argv: Sequence[str | Path], cwd: Path) -> tuple[str, str, int]:
    """Run ``argv``, read one line of its output, close the pipe (as ``| head -1`` does);
    its first line, its whole stderr and its exit status."""
    process = subprocess.Popen(
        [str(arg) for arg in argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    line = process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read()
    process.stderr.close()
    return line, stderr, process.wait(timeout=60)


@pytest.mark.parametrize("output", ["text", "json"])
def test_statemachine_db_list_into_head(tmp_path: Path, output: str) -> None:
    db = tmp_path / "jobs.db"
    fill(db, jobs=MANY)
    line, stderr, status = first_line_then_close(
        [*DB, "--db", db, "list", "--limit", str(MANY), "--format", output], tmp_path
    )
    assert line.startswith("JOB ID" if output == "text" else "[")
    assert stderr == ""
    assert status == 141  # 128 + SIGPIPE, as a shell reports it


def test_statemachine_events_into_head(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    fill(db, events=MANY)
    line, stderr, status = first_line_then_close(
        [*EVENTS, "--db", db, "--history", str(MANY), "--duration", "0", "--format", "json"],
        tmp_path,
    )
    assert json.loads(line)["type"] == "activity_log"
    assert stderr == ""
    assert status == 141


def test_statemachine_validate_into_head(tmp_path: Path) -> None:
    states = [f"s{n}" for n in range(MANY)]
    config = write(
        tmp_path / "big.yaml",
        "initial_state: s0\nstates: [" + ", ".join(states) + "]\n"
        "transitions:\n  - {from: s0, to: s1, event: go}\n",
    )
    line, stderr, status = first_line_then_close([*VALIDATE, config], tmp_path)
    assert "big.yaml" in line
    assert stderr == ""
    assert status == 141


@pytest.mark.parametrize("argv", [DB, EVENTS, UI, VALIDATE, DIAGRAMS], ids=lambda a: a[-1])
def test_help_into_head(tmp_path: Path, argv: list[str]) -> None:
    line, stderr, status = first_line_then_close([*argv, "--help"], tmp_path)
    assert line.startswith("usage:")
    assert stderr == ""
    assert status in (0, 141)  # help may fit in the pipe before it is closed


# -- statemachine-db alone -------------------------------------------------------------------


def test_statemachine_db_alone_prints_its_help(tmp_path: Path) -> None:
    result = run(DB, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout.startswith("usage: statemachine-db")
    assert "send-event" in result.stdout
    assert result.stderr == ""


# -- one output vocabulary ------------------------------------------------------------------


def test_format_text_and_json_with_the_old_spellings(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    fill(db, jobs=1, events=1)
    text = run([*DB, "--db", db, "status", "--format", "text"], cwd=tmp_path)
    assert text.stdout.startswith("STATUS")
    for old in ("table", "human"):
        same = run([*DB, "--db", db, "status", "--format", old], cwd=tmp_path)
        assert same.stdout == text.stdout
    as_json = run([*DB, "--db", db, "--format", "json", "status"], cwd=tmp_path)
    assert json.loads(as_json.stdout)["total"] == 1

    history = [*EVENTS, "--db", db, "--history", "1", "--duration", "0"]
    human = run([*history, "--format", "human"], cwd=tmp_path)
    plain = run([*history, "--format", "text"], cwd=tmp_path)
    assert human.returncode == plain.returncode == 0, human.stderr
    assert human.stdout == plain.stdout
    assert "line 0" in plain.stdout
    event = json.loads(run([*history, "--format", "json"], cwd=tmp_path).stdout)
    assert event["payload"] == {"message": "line 0"}

    bad = run([*DB, "--db", db, "status", "--format", "xml"], cwd=tmp_path)
    assert bad.returncode == 2
    assert "invalid choice: 'xml' (choose from 'text', 'json')" in bad.stderr


def test_validate_and_diagrams_take_format_json(tmp_path: Path) -> None:
    config = write(
        tmp_path / "tiny.yaml",
        "initial_state: a\nstates: [a, stopped]\n"
        "transitions:\n  - {from: a, to: stopped, event: stop}\n",
    )
    linted = run([*VALIDATE, config, "--format", "json"], cwd=tmp_path)
    assert linted.returncode in (0, 1), linted.stderr
    assert isinstance(json.loads(linted.stdout), dict)
    assert run([*VALIDATE, config, "--format", "human"], cwd=tmp_path).returncode == (
        linted.returncode
    )
    drawn = run([*DIAGRAMS, config, "-o", tmp_path / "out", "--format", "json"], cwd=tmp_path)
    assert drawn.returncode == 0, drawn.stderr
    report = json.loads(drawn.stdout)
    assert report["configs"][0]["config"] == str(config)
    assert (tmp_path / "out" / "tiny" / "main.mermaid").is_file()

"""``statemachine-db`` as operators run it: real processes against a real SQLite file.

State the CLI cannot create (claimed jobs, machines, transitions, inbox events) is put in
the store through its public API, or, for ages, by moving timestamps back with SQL;
nothing sleeps.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from statemachine_engine.database._sqlite import SqliteStore
from tests.support import processes
from tests.support.files import mode, sql
from tests.support.pids import exited_pid
from tests.support.terminal import run_on_terminal

MODULE = [sys.executable, "-m", "statemachine_engine.database.cli"]
COMMANDS = [
    "status",
    "list",
    "details",
    "history",
    "add-job",
    "complete-job",
    "fail-job",
    "retry",
    "cancel",
    "remove-job",
    "cleanup",
    "purge",
    "reset-processing",
    "list-events",
    "cancel-event",
    "cleanup-events",
    "cleanup-history",
    "machine-state",
    "transition-history",
    "error-history",
    "send-event",
]


def console_script() -> list[str]:
    found = processes.console_script("statemachine-db")
    if found is None:
        pytest.fail("statemachine-db is not installed: run `pip install -e .`")
    return found


@pytest.fixture(params=["module", "script"])
def argv0(request: pytest.FixtureRequest) -> list[str]:
    """The command both ways: ``python -m ...database.cli`` and the console script."""
    return MODULE if request.param == "module" else console_script()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store" / "jobs.db"


def run(
    *args: str | Path,
    db: Path | None = None,
    argv0: Sequence[str] = MODULE,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    argv = [*argv0]
    if db is not None:
        argv += ["--db", str(db)]
    argv += [str(arg) for arg in args]
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        check=False,
    )


def ok(*args: str | Path, **options: Any) -> str:
    """Run a command that must succeed; return its stdout."""
    result = run(*args, **options)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def ok_json(*args: str | Path, **options: Any) -> Any:
    return json.loads(ok(*args, "--format", "json", **options))


def fails(*args: str | Path, status: int = 1, **options: Any) -> str:
    """Run a command that must fail with ``status`` and one clear line; return that line."""
    result = run(*args, **options)
    assert result.returncode == status, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("statemachine-db: error: ")
    return lines[0]


def with_store(db: Path, action: Callable[[SqliteStore], Awaitable[Any]]) -> Any:
    """Run ``action`` on the store at ``db`` (the test's own process, the real store)."""

    async def session() -> Any:
        store = SqliteStore(db)
        try:
            return await action(store)
        finally:
            await store.close()

    return asyncio.run(session())


def create_store(db: Path) -> None:
    """An empty store at ``db`` (commands that only read refuse to create one)."""

    async def nothing(store: SqliteStore) -> None:
        return None

    with_store(db, nothing)


def add(db: Path, *args: str) -> str:
    return ok("add-job", *args, db=db).splitlines()[0]


def job(db: Path, job_id: str) -> dict[str, Any]:
    details: dict[str, Any] = ok_json("details", job_id, db=db)
    return details


# -- the command itself ------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    out = ok(command, "--help")
    assert out.startswith(f"usage: statemachine-db {command}")
    assert "--db PATH" in out
    assert "--format" in out


def test_top_level_help_lists_every_command(argv0: list[str]) -> None:
    out = ok("--help", argv0=argv0)
    for command in COMMANDS:
        assert command in out
    assert "STATEMACHINE_DB" in out


def test_parsing_the_command_line_is_light() -> None:
    code = (
        "import sys\n"
        "from statemachine_engine.database.cli import build_parser\n"
        "build_parser().format_help()\n"
        "print(sorted(m for m in ('asyncio', 'sqlite3', 'yaml') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_no_command_prints_the_help_and_exits_2(argv0: list[str]) -> None:
    result = run(argv0=argv0)
    assert result.returncode == 2  # a usage error, so that scripts notice
    assert result.stderr == ""
    assert result.stdout.startswith("usage: statemachine-db")
    for command in COMMANDS:
        assert command in result.stdout


def test_module_and_console_script_share_one_store(db: Path) -> None:
    job_id = add(db, "--type", "render")
    listed = ok_json("list", db=db, argv0=console_script())
    assert [entry["job_id"] for entry in listed] == [job_id]


def test_database_is_created_owner_only(db: Path, argv0: list[str]) -> None:
    assert not db.parent.exists()
    ok("add-job", "--type", "t", db=db, argv0=argv0)
    assert mode(db) == 0o600
    assert mode(db.parent) == 0o700


def test_statemachine_db_environment_variable(tmp_path: Path, db: Path) -> None:
    env = {"STATEMACHINE_DB": str(db)}
    job_id = ok("add-job", "--type", "t", env=env, cwd=tmp_path).splitlines()[0]
    assert db.exists()
    assert [j["job_id"] for j in ok_json("list", db=db)] == [job_id]
    # --db beats the environment
    other = tmp_path / "other.db"
    assert str(other) in fails("list", db=other, env=env)
    assert ok_json("details", job_id, env=env)["job_id"] == job_id


def test_default_database_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STATEMACHINE_DB", raising=False)  # conftest sets one per test
    ok("add-job", "--type", "t", cwd=tmp_path)
    default = tmp_path / "data" / "pipeline.db"
    assert default.exists()
    assert mode(default) == 0o600


def test_global_options_are_accepted_after_the_command_too(db: Path) -> None:
    add(db, "--type", "t")
    first = ok("--format", "json", "list", db=db)
    after = ok("list", "--db", str(db), "--format", "json")
    assert json.loads(first) == json.loads(after)


# -- jobs ------------------------------------------------------------------------------


def test_add_job_prints_the_generated_id_first(db: Path, argv0: list[str]) -> None:
    out = ok("add-job", "--type", "render", db=db, argv0=argv0)
    job_id = out.splitlines()[0]
    assert job_id.startswith("job_")
    details = job(db, job_id)
    assert details["job_type"] == "render"
    assert details["status"] == "pending"
    assert details["machine_type"] is None


def test_add_job_with_every_option(db: Path, tmp_path: Path) -> None:
    input_file = tmp_path / "in.txt"
    input_file.write_text("hello")
    before = time.time()
    created = ok_json(
        "add-job",
        "job-42",
        "--type",
        "render",
        "--machine-type",
        "gpu_worker",
        "--input-file",
        input_file,
        "--payload",
        '{"prompt": "a cat", "n": 2}',
        "--priority",
        "7",
        "--max-attempts",
        "5",
        "--delay",
        "120",
        db=db,
    )
    assert created["job_id"] == "job-42"
    assert created["machine_type"] == "gpu_worker"
    assert created["data"] == {"input_file_path": str(input_file), "prompt": "a cat", "n": 2}
    assert created["priority"] == 7
    assert created["max_attempts"] == 5
    assert created["run_after"] >= before + 120
    assert job(db, "job-42") == {**created, "last_output": None}  # details adds it


def test_add_job_relative_input_file_is_stored_absolute(tmp_path: Path, db: Path) -> None:
    (tmp_path / "in.txt").write_text("x")
    created = ok_json("add-job", "--type", "t", "--input-file", "in.txt", db=db, cwd=tmp_path)
    assert created["data"] == {"input_file_path": str(tmp_path / "in.txt")}


def test_status_counts_jobs_per_status(db: Path) -> None:
    add(db, "--type", "a")
    add(db, "--type", "a")
    cancelled = add(db, "--type", "b")
    ok("cancel", cancelled, db=db)
    counts = ok_json("status", db=db)
    assert counts == {
        "pending": 2,
        "processing": 0,
        "completed": 0,
        "failed": 0,
        "dead": 0,
        "cancelled": 1,
        "total": 3,
    }
    table = ok("status", db=db).splitlines()
    assert table[0].split() == ["STATUS", "JOBS"]
    assert table[2].split() == ["pending", "2"]
    assert table[-1].split() == ["total", "3"]


def test_list_filters_by_status_and_type_with_a_limit(db: Path) -> None:
    ids = [add(db, f"j{i}", "--type", "a" if i % 2 else "b") for i in range(6)]
    ok("cancel", ids[0], db=db)
    ok("fail-job", ids[1], "--no-retry", db=db)
    assert [j["job_id"] for j in ok_json("list", db=db)] == ids[::-1]
    assert [j["job_id"] for j in ok_json("list", "--type", "a", db=db)] == ["j5", "j3", "j1"]
    assert [j["job_id"] for j in ok_json("list", "--status", "dead", db=db)] == ["j1"]
    both = ok_json("list", "--status", "dead", "--status", "cancelled", db=db)
    assert [j["job_id"] for j in both] == ["j1", "j0"]
    assert [j["job_id"] for j in ok_json("list", "--limit", "2", db=db)] == ["j5", "j4"]
    assert ok_json("list", "--type", "nothing", db=db) == []


def test_list_table_has_aligned_columns_and_local_times(db: Path) -> None:
    job_id = add(db, "--type", "render")
    created = job(db, job_id)["created_at"]
    lines = ok("list", db=db).splitlines()
    assert lines[0].split()[:3] == ["JOB", "ID", "TYPE"]
    assert set(lines[1]) <= {"-", " "}
    assert lines[2].startswith(job_id)
    assert time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created)) in lines[2]
    assert lines[2].index("render") == lines[0].index("TYPE")
    assert ok("list", "--status", "dead", db=db).strip() == "no jobs found"


def test_details_shows_every_field_with_pretty_json(db: Path) -> None:
    job_id = add(db, "--type", "render", "--payload", '{"prompt": "a cat", "size": [1, 2]}')
    out = ok("details", job_id, db=db)
    assert f"job id:        {job_id}" in out
    assert "status:        pending" in out
    assert "attempts:      0/3" in out
    assert 'data:\n  {\n    "prompt": "a cat",\n    "size": [\n' in out
    assert "result:        -" in out
    created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(job(db, job_id)["created_at"]))
    assert f"created:       {created}" in out


def test_complete_a_pending_job_with_a_result(db: Path, argv0: list[str]) -> None:
    job_id = add(db, "--type", "t")
    out = ok("complete-job", job_id, "--result", '{"ok": true}', db=db, argv0=argv0)
    assert out.strip() == f"job {job_id!r} completed (status completed)"
    done = job(db, job_id)
    assert done["status"] == "completed"
    assert done["result"] == {"ok": True}
    again = fails("complete-job", job_id, db=db, argv0=argv0)
    assert again.endswith(
        f"job {job_id!r} is completed; only pending, processing or failed jobs can be completed"
    )


def test_complete_a_processing_job(db: Path) -> None:
    job_id = add(db, "--type", "t")
    claimed = with_store(db, lambda store: store.claim_job("t", "worker-1"))
    assert claimed.job_id == job_id
    done = ok_json("complete-job", job_id, db=db)
    assert done["status"] == "completed"
    assert done["result"] is None
    history = ok_json("history", job_id, db=db)
    assert [row["status"] for row in history] == ["pending", "processing", "completed"]
    assert history[1]["worker"] == "worker-1"


def test_complete_a_delayed_job_is_refused_until_it_is_ready(db: Path) -> None:
    job_id = add(db, "--type", "t", "--delay", "3600")
    line = fails("complete-job", job_id, db=db)
    assert f"job {job_id!r} is pending and not ready before" in line


def test_fail_job_retries_then_dies(db: Path) -> None:
    job_id = add(db, "--type", "t", "--max-attempts", "2")
    with_store(db, lambda store: store.claim_job("t", "w"))
    out = ok("fail-job", job_id, "--reason", "disk full", db=db)
    assert out.startswith(f"job {job_id!r} failed (attempts 1/2); retried after ")
    failed = job(db, job_id)
    assert failed["status"] == "failed"
    assert failed["error"] == "disk full"
    out = ok("fail-job", job_id, "--reason", "still full", "--no-retry", db=db)
    assert out.strip() == f"job {job_id!r} is dead (attempts 1/2)"
    assert job(db, job_id)["status"] == "dead"
    line = fails("fail-job", job_id, db=db)
    assert line.endswith("only pending, processing or failed jobs can be failed")


def test_fail_job_json_returns_the_job(db: Path) -> None:
    job_id = add(db, "--type", "t")
    failed = ok_json("fail-job", job_id, "--no-retry", db=db)
    assert failed["job_id"] == job_id
    assert failed["status"] == "dead"
    assert failed["error"] == "failed by statemachine-db"


def test_retry_puts_a_dead_job_back(db: Path, argv0: list[str]) -> None:
    job_id = add(db, "--type", "t", "--max-attempts", "1")
    with_store(db, lambda store: store.claim_job("t", "w"))
    ok("fail-job", job_id, db=db)
    assert job(db, job_id)["status"] == "dead"
    out = ok("retry", job_id, db=db, argv0=argv0)
    assert out.strip() == f"job {job_id!r} queued again (status pending)"
    again = job(db, job_id)
    assert (again["status"], again["attempts"], again["error"]) == ("pending", 0, None)
    line = fails("retry", job_id, db=db, argv0=argv0)
    assert line.endswith(
        f"job {job_id!r} is pending; only failed, dead or cancelled jobs can be retried"
    )


def test_cancel(db: Path, argv0: list[str]) -> None:
    job_id = add(db, "--type", "t")
    cancelled = ok_json("cancel", job_id, db=db, argv0=argv0)
    assert cancelled["status"] == "cancelled"
    assert cancelled["completed_at"] is not None
    line = fails("cancel", job_id, db=db, argv0=argv0)
    assert line.endswith("is cancelled; only pending, processing or failed jobs can be cancelled")
    assert with_store(db, lambda store: store.claim_job("t", "w")) is None


def test_history_lists_every_status_change(db: Path) -> None:
    job_id = add(db, "--type", "t")
    with_store(db, lambda store: store.claim_job("t", "worker-7"))
    ok("fail-job", job_id, "--reason", "boom", db=db)
    ok("cancel", job_id, db=db)
    rows = ok_json("history", job_id, db=db)
    assert [(r["status"], r["attempt"], r["worker"]) for r in rows] == [
        ("pending", 0, None),
        ("processing", 1, "worker-7"),
        ("failed", 1, None),
        ("cancelled", 1, None),
    ]
    assert rows[2]["message"] == "boom"
    table = ok("history", job_id, db=db).splitlines()
    assert table[0].split() == ["TIME", "STATUS", "ATTEMPT", "WORKER", "MESSAGE"]
    assert "worker-7" in table[3]
    assert table[4].split()[2:] == ["failed", "1", "-", "boom"]


def test_remove_job(db: Path) -> None:
    job_id = add(db, "--type", "t")
    out = ok("remove-job", job_id, "--reason", "duplicate", db=db)
    assert out.strip() == f"job {job_id!r} removed (duplicate)"
    assert ok_json("list", db=db) == []
    assert fails("remove-job", job_id, db=db).endswith(f"no job {job_id!r}")


def test_cleanup_purges_finished_jobs_by_default(db: Path) -> None:
    kept = [add(db, "p", "--type", "t"), add(db, "f", "--type", "t")]
    ok("fail-job", "f", db=db)  # failed, retry pending: not finished
    for name in ("c", "d", "x"):
        add(db, name, "--type", "t")
    ok("complete-job", "c", db=db)
    ok("fail-job", "d", "--no-retry", db=db)
    ok("cancel", "x", db=db)
    assert ok_json("cleanup", "--older-than", "3600", db=db)["deleted"] == 0
    out = ok("cleanup", db=db)
    assert out.strip() == "deleted 3 jobs (completed, dead, cancelled)"
    assert sorted(j["job_id"] for j in ok_json("list", db=db)) == sorted(kept)
    assert fails("history", "c", db=db).endswith("no job 'c'")
    result = ok_json("cleanup", "--status", "failed", db=db)
    assert result["deleted"] == 1
    assert [j["job_id"] for j in ok_json("list", db=db)] == ["p"]


def test_purge_by_status_and_age(db: Path) -> None:
    for name in ("a", "b", "c"):
        add(db, name, "--type", "t")
    ok("fail-job", "a", "--no-retry", db=db)
    ok("cancel", "b", db=db)
    assert ok("purge", "--status", "dead", "--older-than", "600", db=db).strip() == (
        "deleted 0 jobs (dead) older than 10m 0s"
    )
    sql(db, "UPDATE jobs SET updated_at = updated_at - 3600 WHERE job_id = 'a'")
    purged = ok_json(
        "purge", "--status", "dead", "--status", "cancelled", "--older-than", "600", db=db
    )
    assert purged == {"deleted": 1, "statuses": ["dead", "cancelled"], "older_than": 600.0}
    assert ok("purge", "--status", "cancelled", db=db).strip() == "deleted 1 job (cancelled)"
    assert [j["job_id"] for j in ok_json("list", db=db)] == ["c"]


def test_purge_needs_a_status(db: Path) -> None:
    result = run("purge", db=db)
    assert result.returncode == 2
    assert "--status" in result.stderr
    assert "Traceback" not in result.stderr


def test_reset_processing(db: Path, argv0: list[str]) -> None:
    job_id = add(db, "--type", "t")
    with_store(db, lambda store: store.claim_job("t", "w"))
    out = ok("reset-processing", db=db, argv0=argv0)  # started just now: not stuck
    assert out.strip() == "returned 0 processing jobs started over 1h 0m ago to the queue"
    assert ok_json("reset-processing", "--older-than", "600", db=db) == {
        "reset": 0,
        "older_than": 600.0,
    }
    sql(db, "UPDATE jobs SET started_at = started_at - 7200 WHERE job_id = ?", (job_id,))
    assert ok_json("reset-processing", db=db)["reset"] == 1
    assert job(db, job_id)["status"] == "pending"
    with_store(db, lambda store: store.claim_job("t", "w"))
    assert ok_json("reset-processing", "--force", db=db) == {"reset": 1, "older_than": None}
    assert job(db, job_id)["status"] == "pending"


def test_reset_processing_force_excludes_older_than(db: Path) -> None:
    result = run("reset-processing", "--force", "--older-than", "5", db=db)
    assert result.returncode == 2
    assert "not allowed with argument" in result.stderr


# -- machine inboxes -------------------------------------------------------------------


def seed_events(db: Path) -> list[int]:
    async def action(store: SqliteStore) -> list[int]:
        ids = [
            await store.send_event("worker", "new_job", {"file": "a.txt"}, source="cli"),
            await store.send_event("worker", "stop", job_id="job-1"),
            await store.send_event("controller", "job_done", {"n": 1}),
        ]
        await store.mark_events([ids[0]], "processed")
        return ids

    ids: list[int] = with_store(db, action)
    return ids


def test_list_events(db: Path) -> None:
    ids = seed_events(db)
    events = ok_json("list-events", db=db)
    assert [e["id"] for e in events] == ids[::-1]
    worker = ok_json("list-events", "--target", "worker", db=db)
    assert [e["event_type"] for e in worker] == ["stop", "new_job"]
    processed = ok_json("list-events", "--status", "processed", db=db)
    assert [(e["event_type"], e["payload"]) for e in processed] == [("new_job", {"file": "a.txt"})]
    assert len(ok_json("list-events", "--limit", "1", db=db)) == 1
    table = ok("list-events", db=db).splitlines()
    assert table[0].split() == [
        "ID", "TARGET", "TYPE", "STATUS", "SOURCE", "JOB", "ID", "CREATED", "DUE", "REASON",
        "PAYLOAD",
    ]  # fmt: skip
    assert '{"file":"a.txt"}' in table[-1]
    assert "cli" in table[-1]
    assert ok("list-events", "--status", "dropped", db=db).strip() == "no events found"


def test_cleanup_events(db: Path) -> None:
    seed_events(db)
    assert ok("cleanup-events", "--status", "processed", db=db).strip() == (
        "deleted 1 processed event"
    )
    assert [e["event_type"] for e in ok_json("list-events", db=db)] == ["job_done", "stop"]
    # Without --status only handled events go: undelivered ones are kept.
    assert ok_json("cleanup-events", db=db) == {"deleted": 0, "status": None}
    assert ok_json("cleanup-events", "--status", "pending", db=db) == {
        "deleted": 2,
        "status": "pending",
    }
    assert ok_json("list-events", db=db) == []


def test_list_events_rejects_an_unknown_status(db: Path) -> None:
    result = run("list-events", "--status", "weird", db=db)
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


# -- machines ------------------------------------------------------------------------------


def seed_machines(db: Path) -> None:
    here = socket.gethostname()
    gone = exited_pid()

    async def action(store: SqliteStore) -> None:
        for name, pid, host in (
            ("alive", os.getpid(), here),
            ("crashed", gone, here),
            ("quiet", os.getpid(), here),
            ("remote", 999_999, "another-host"),
            ("lost", 999_998, "another-host"),
            ("done", gone, here),
        ):
            await store.register_machine(
                name, config_name="worker", config_path="/w.yaml", pid=pid, host=host
            )
            await store.save_transition(
                name, from_state=None, to_state="waiting", event="start", context={}, timers=[]
            )
        await store.finish_machine("done", "finished")

    with_store(db, action)
    sql(
        db,
        "UPDATE machine_state SET heartbeat_at = heartbeat_at - 300 WHERE machine_name = 'quiet'",
    )
    sql(db, "UPDATE machine_state SET heartbeat_at = heartbeat_at - 20 WHERE machine_name = 'lost'")


def test_machine_state_marks_dead_and_stale_machines(db: Path, argv0: list[str]) -> None:
    seed_machines(db)
    machines = {m["machine_name"]: m for m in ok_json("machine-state", db=db, argv0=argv0)}
    assert {name: m["status"] for name, m in machines.items()} == {
        "alive": "running",
        "crashed": "dead",
        "quiet": "stale",
        "remote": "running",  # another host's pid cannot be checked here: its heartbeat tells
        "lost": "dead",  # three heartbeats missed
        "done": "finished",
    }
    assert machines["crashed"]["recorded_status"] == "running"
    assert machines["alive"]["current_state"] == "waiting"
    assert machines["alive"]["pid"] == os.getpid()
    assert machines["quiet"]["heartbeat_age"] >= 300
    assert machines["alive"]["heartbeat_age"] < 60

    table = ok("machine-state", db=db).splitlines()
    assert table[0].split() == [
        "MACHINE", "STATE", "STATUS", "PID", "HOST", "HEARTBEAT", "AGE", "LAST", "CHANGE",
        "WAITING", "FOR",
    ]  # fmt: skip
    rows = {line.split()[0]: line.split() for line in table[2:]}
    assert rows["crashed"][1:3] == ["waiting", "dead"]
    assert rows["quiet"][2] == "stale"
    assert "5m" in rows["quiet"]


def test_machine_state_with_no_machines(db: Path) -> None:
    create_store(db)
    assert ok("machine-state", db=db).strip() == "no machines found"
    assert ok_json("machine-state", db=db) == []


def seed_transitions(db: Path) -> None:
    async def action(store: SqliteStore) -> None:
        steps = {
            "worker": [
                (None, "waiting", "start"),
                ("waiting", "processing", "new_job"),
                ("processing", "error_state", "job_failed"),
                ("error_state", "waiting", "retry"),
            ],
            "controller": [
                (None, "idle", "start"),
                ("idle", "broken", "error"),
                ("broken", "idle", "validation_error"),
            ],
        }
        for machine, transitions in steps.items():
            await store.register_machine(
                machine, config_name=machine, config_path=None, pid=os.getpid(), host="h"
            )
            for source, target, event in transitions:
                await store.save_transition(
                    machine,
                    from_state=source,
                    to_state=target,
                    event=event,
                    context={},
                    timers=[],
                    job_id="job-9" if event == "job_failed" else None,
                )

    with_store(db, action)


def test_transition_history(db: Path, argv0: list[str]) -> None:
    seed_transitions(db)
    records = ok_json("transition-history", db=db, argv0=argv0)
    assert [r["event"] for r in records] == [
        "validation_error", "error", "start", "retry", "job_failed", "new_job", "start"
    ]  # fmt: skip
    assert set(records[0]) >= {"machine_name", "from_state", "to_state", "event", "at", "job_id"}
    assert records[0]["timestamp"] == time.strftime(
        "%Y-%m-%d %H:%M:%S", time.localtime(records[0]["at"])
    )
    worker = ok_json("transition-history", "--machine", "worker", "--limit", "2", db=db)
    assert [(r["from_state"], r["to_state"]) for r in worker] == [
        ("error_state", "waiting"),
        ("processing", "error_state"),
    ]
    sql(db, "UPDATE state_history SET at = at - 7200 WHERE machine_name = 'controller'")
    recent = ok_json("transition-history", "--hours", "1", db=db)
    assert {r["machine_name"] for r in recent} == {"worker"}
    table = ok("transition-history", "--machine", "worker", db=db).splitlines()
    assert table[0].split() == ["TIME", "MACHINE", "FROM", "TO", "EVENT", "JOB", "ID"]
    assert table[2].split()[2:] == ["worker", "error_state", "waiting", "retry", "-"]
    assert table[-1].split()[2:] == ["worker", "-", "waiting", "start", "-"]


def test_cleanup_history_deletes_the_transitions_recorded_long_ago(db: Path) -> None:
    seed_transitions(db)
    sql(db, "UPDATE state_history SET at = at - 7200 WHERE machine_name = 'controller'")
    assert ok("cleanup-history", "--older-than", "3600", db=db).strip() == (
        "deleted 3 transitions recorded over 1h 0m ago"
    )
    assert {r["machine_name"] for r in ok_json("transition-history", db=db)} == {"worker"}
    assert ok_json("cleanup-history", "--older-than", "3600", db=db) == {
        "deleted": 0,
        "older_than": 3600.0,
    }
    result = run("cleanup-history", db=db)
    assert result.returncode == 2
    assert "--older-than" in result.stderr


def test_cleanup_history_shows_its_progress_on_a_terminal(db: Path) -> None:
    seed_transitions(db)
    sql(  # 25,000 old ones: three transactions of 10,000 at most
        db,
        "INSERT INTO state_history (machine_name, from_state, to_state, event, at) "
        "SELECT 'old', 'a', 'b', 'go', 0 FROM "
        "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 25000) "
        "SELECT i FROM n)",
    )
    stdout, status, shown = run_on_terminal([*MODULE, "--db", str(db), "cleanup-history",
                                             "--older-than", "3600"])  # fmt: skip
    assert status == 0
    assert stdout == "deleted 25000 transitions recorded over 1h 0m ago\n"
    assert b"\rdeleted 10000 transitions so far\rdeleted 20000 transitions so far" in shown
    assert shown.endswith(b"\r\x1b[K")  # the line is cleared before the result


def test_error_history_has_error_transitions_and_dead_jobs(db: Path) -> None:
    seed_transitions(db)
    add(db, "dead-1", "--type", "t", "--max-attempts", "1")
    with_store(db, lambda store: store.claim_job("t", "worker"))
    ok("fail-job", "dead-1", "--reason", "model crashed", db=db)
    entries = ok_json("error-history", db=db)
    assert [(e["kind"], e["machine"], e["event"] or e["error"]) for e in entries] == [
        ("dead_job", "worker", "model crashed"),
        ("transition", "controller", "validation_error"),
        ("transition", "controller", "error"),
        ("transition", "worker", "job_failed"),
    ]
    assert entries[-1]["job_id"] == "job-9"
    worker = ok_json("error-history", "--machine", "worker", db=db)
    assert [e["kind"] for e in worker] == ["dead_job", "transition"]
    assert len(ok_json("error-history", "--limit", "1", db=db)) == 1
    sql(db, "UPDATE state_history SET at = at - 7200")
    recent = ok_json("error-history", "--hours", "1", db=db)
    assert [e["job_id"] for e in recent] == ["dead-1"]
    table = ok("error-history", db=db).splitlines()
    assert table[0].split() == ["TIME", "MACHINE", "KIND", "JOB", "ID", "WHAT"]
    assert "model crashed" in table[2]
    assert "processing --job_failed--> error_state" in table[-1]


def test_error_history_with_no_errors(db: Path) -> None:
    create_store(db)
    assert ok("error-history", db=db).strip() == "no errors found"


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["details", "nope"],
        ["history", "nope"],
        ["complete-job", "nope"],
        ["fail-job", "nope"],
        ["retry", "nope"],
        ["cancel", "nope"],
        ["remove-job", "nope"],
    ],
)
def test_unknown_job_id(db: Path, argv0: list[str], args: list[str]) -> None:
    create_store(db)
    line = fails(*args, db=db, argv0=argv0)
    assert line == "statemachine-db: error: no job 'nope'"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["add-job", "--type", "t", "--payload", "{bad"],
            "--payload is not valid JSON: Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)",
        ),
        (
            ["add-job", "--type", "t", "--payload", "[1, 2]"],
            "--payload must be a JSON object",
        ),
        (
            ["complete-job", "some-job", "--result", "{'a': 1}"],
            "--result is not valid JSON: Expecting property name enclosed in double quotes",
        ),
    ],
)
def test_bad_json_is_a_usage_error(
    db: Path, argv0: list[str], args: list[str], message: str
) -> None:
    line = fails(*args, status=2, db=db, argv0=argv0)
    assert line.startswith(f"statemachine-db: error: {message}")
    assert not db.parent.exists()  # refused before the store is touched


def test_missing_input_file(db: Path, tmp_path: Path) -> None:
    line = fails("add-job", "--type", "t", "--input-file", tmp_path / "missing.txt", db=db)
    assert line == f"statemachine-db: error: input file not found: {tmp_path / 'missing.txt'}"


def test_duplicate_job_id(db: Path) -> None:
    add(db, "same", "--type", "t")
    line = fails("add-job", "same", "--type", "t", db=db)
    assert line == "statemachine-db: error: a job with id 'same' already exists"


@pytest.mark.parametrize(
    "args",
    [
        ["add-job", "--type", "t", "--max-attempts", "0"],
        ["add-job", "--type", "t", "--delay", "-1"],
        ["add-job", "--type", "t", "--priority", "high"],
        ["add-job", "x"],
        ["list", "--limit", "0"],
        ["list", "--status", "bogus"],
        ["cleanup", "--older-than", "soon"],
        ["transition-history", "--hours", "0"],
        ["nonsense"],
    ],
)
def test_bad_options_exit_2(db: Path, args: list[str]) -> None:
    result = run(*args, db=db)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("statemachine-db")


def test_a_file_that_is_not_a_database(tmp_path: Path, argv0: list[str]) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("these are not the tables you are looking for\n" * 100)
    line = fails("status", db=bogus, argv0=argv0)
    assert str(bogus) in line
    assert "not a usable database" in line or "cannot open database" in line


def test_a_database_path_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    line = fails("add-job", "--type", "t", db=blocker / "sub" / "jobs.db")
    assert "cannot open database" in line

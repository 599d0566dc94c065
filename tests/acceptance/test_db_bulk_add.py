"""``statemachine-db add-job --from FILE|-``: many jobs from JSON lines, as operators run
it: real processes against a real SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.files import sql
from tests.support.terminal import run_on_terminal

DB_CLI = [sys.executable, "-m", "statemachine_engine.database.cli"]
MANY = 10_000


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store" / "jobs.db"


def run(db: Path, *args: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DB_CLI, "--db", str(db), *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def ok(db: Path, *args: str | Path, stdin: str | None = None) -> str:
    result = run(db, *args, stdin=stdin)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no progress when stderr is no terminal
    return result.stdout


def jsonl(lines: list[Any]) -> str:
    return "".join(json.dumps(line) + "\n" for line in lines)


def many(count: int = MANY) -> str:
    return jsonl(
        [{"type": "render", "job_id": f"r{n:05d}", "data": {"n": n}} for n in range(count)]
    )


def pending(db: Path) -> int:
    counts = json.loads(ok(db, "status", "--format", "json"))
    assert counts["total"] == counts["pending"]
    return int(counts["pending"])


def test_ten_thousand_jobs_from_a_file(db: Path, tmp_path: Path) -> None:
    source = tmp_path / "jobs.jsonl"
    source.write_text(many())

    assert ok(db, "add-job", "--from", source) == f"queued {MANY} jobs\n"

    assert pending(db) == MANY
    assert "pending     10000" in ok(db, "status")
    rows = sql(db, "SELECT job_id, job_type, data FROM jobs ORDER BY id")
    assert rows[0] == ("r00000", "render", '{"n":0}')
    assert rows[-1] == ("r09999", "render", '{"n":9999}')
    assert sql(db, "SELECT count(*) FROM job_history WHERE message = 'added'") == [(MANY,)]


def test_ten_thousand_jobs_from_stdin_and_again(db: Path) -> None:
    assert ok(db, "add-job", "--from", "-", stdin=many()) == f"queued {MANY} jobs\n"
    assert pending(db) == MANY

    # Run again with the ids given: nothing is queued twice.
    extra = jsonl([{"type": "render", "job_id": "r99999"}])
    summary = json.loads(ok(db, "add-job", "--from", "-", "--format", "json", stdin=many() + extra))
    assert summary == {"queued": 1, "already_queued": MANY, "jobs": MANY + 1}
    assert pending(db) == MANY + 1


def test_the_options_fill_in_what_a_line_lacks(db: Path) -> None:
    lines = [
        {"data": {"file": "a.png"}},
        {"job_type": "thumb", "priority": 9, "max_attempts": 1, "delay": "2h"},
        {"type": "render", "machine_type": None, "job_id": "given"},
        {"type": "render", "job_id": "given"},
    ]
    out = ok(
        db,
        "add-job",
        "--from",
        "-",
        "--type",
        "render",
        "--machine-type",
        "gpu",
        "--priority",
        "2",
        "--max-attempts",
        "4",
        stdin=jsonl(lines) + "\n   \n",  # blank lines are no jobs
    )
    assert out == "queued 3 jobs (1 already queued)\n"
    rows = sql(
        db,
        "SELECT job_type, machine_type, priority, max_attempts, data, run_after - created_at "
        "FROM jobs ORDER BY id",
    )
    assert [row[:5] for row in rows] == [
        ("render", "gpu", 2, 4, '{"file":"a.png"}'),
        ("thumb", "gpu", 9, 1, "{}"),
        ("render", "gpu", 2, 4, "{}"),
    ]
    assert [round(row[5]) for row in rows] == [0, 7200, 0]


def test_bad_lines_are_reported_by_number_and_nothing_is_queued(db: Path) -> None:
    lines = many(600).splitlines()
    lines[2] = '{"type": "render", "data": [1]}'
    lines[550] = "{not json"
    lines[551] = '{"type": "render", "colour": "red"}'
    lines[599] = '{"data": {}}'

    result = run(db, "add-job", "--from", "-", stdin="\n".join(lines) + "\n")

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "statemachine-db: error: line 3: data must be a mapping (a JSON object), not a list",
        "statemachine-db: error: line 551 is not valid JSON: Expecting property name enclosed "
        "in double quotes: line 1 column 2 (char 1)",
        "statemachine-db: error: line 552 has unknown key colour: a line holds job_type (or "
        "type), job_id, data, priority, delay, machine_type and max_attempts; put the job's "
        "own fields under data",
        'statemachine-db: error: line 600 has no type: give it a "type", or --type for every line',
        "statemachine-db: error: 4 of 600 lines are bad; nothing was queued: fix them and "
        "run it again",
    ]
    assert not db.parent.exists()  # refused before the store was touched


def test_many_bad_lines_are_counted_after_the_first_twenty(db: Path) -> None:
    result = run(db, "add-job", "--from", "-", stdin="[]\n" * 50)
    assert result.returncode == 2
    errors = result.stderr.splitlines()
    assert len(errors) == 22
    assert errors[19].startswith("statemachine-db: error: line 20 is not a JSON object")
    assert errors[20] == "statemachine-db: error: ... and 30 more bad lines"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--from", "jobs.jsonl", "--payload", "{}"],
            "--from reads every job from its file: drop --payload",
        ),
        (["some-id", "--from", "jobs.jsonl"], "--from reads every job from its file: drop JOB_ID"),
        ([], "add-job needs --type TYPE (or --from FILE, a type on each line)"),
        (
            ["--from", "missing.jsonl"],
            "cannot read --from missing.jsonl: No such file or directory",
        ),
    ],
)
def test_usage_errors(db: Path, tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "jobs.jsonl").write_text(many(1))
    result = subprocess.run(
        [*DB_CLI, "--db", str(db), "add-job", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == f"statemachine-db: error: {message}\n"
    assert not db.parent.exists()


def test_progress_goes_to_a_terminal(db: Path, tmp_path: Path) -> None:
    source = tmp_path / "jobs.jsonl"
    source.write_text(many(1200))
    stdout, status, shown = run_on_terminal(
        [*DB_CLI, "--db", str(db), "add-job", "--from", str(source)]
    )
    assert status == 0
    assert stdout == "queued 1200 jobs\n"
    assert b"\radded 500/1200 jobs\radded 1000/1200 jobs\radded 1200/1200 jobs" in shown


def test_quiet_on_a_closed_pipe(db: Path, tmp_path: Path) -> None:
    source = tmp_path / "jobs.jsonl"
    source.write_text(many(10))
    reader, writer = os.pipe()
    os.close(reader)  # the reader went away before the count is printed
    try:
        result = subprocess.run(
            [*DB_CLI, "--db", str(db), "add-job", "--from", str(source)],
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(writer)
    assert result.stderr == ""
    assert result.returncode == 141
    assert pending(db) == 10  # the jobs were queued all the same


def test_a_misspelt_key_is_named_with_the_nearest_one(db: Path) -> None:
    result = run(db, "add-job", "--from", "-", stdin='{"jb_type": "render"}\n')
    assert result.returncode == 2
    assert "line 1 has unknown key jb_type (did you mean 'job_type'?)" in result.stderr

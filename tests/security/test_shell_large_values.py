"""Large values (issue 13, point 10): over 128 KiB they cannot go through argv or the
environment (E2BIG), so they reach bash through an owner-only file; the CLI takes
payloads of any size from a file or stdin. Real processes throughout."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.files import sql, write
from tests.support.processes import MachineProcess, moved

StartMachine = Callable[..., MachineProcess]
DB_CLI = [sys.executable, "-m", "statemachine_engine.database.cli"]

CONFIG = """
name: digest
initial_state: waiting
events:
  go: {context_map: {v: payload.v}}
transitions:
  - {from: waiting, to: hashing, event: go}
  - {from: hashing, to: done, event: hashed}
  - {from: done, to: waiting, event: continue}
  - {from: "*", to: stopped, event: stop}
actions:
  hashing:
    - type: bash
      command: |
        a=$(printf %s {v} | sha256sum | cut -c1-64)
        b=$(printf %s "{v}" | sha256sum | cut -c1-64)
        c=$(printf %s '{v}' | sha256sum | cut -c1-64)
        d=$(cat <<EOF | head -c -1 | sha256sum | cut -c1-64
        {v}
        EOF
        )
        echo "$a $b $c $d ${#SM_SMALL}"
      env: {SM_SMALL: "x"}
      success: hashed
  done:
    - {type: log, message: "digests {stdout}"}
"""


def db_cli(*args: str, stdin: bytes = b"", cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*DB_CLI, *args], input=stdin, capture_output=True, cwd=cwd, timeout=120, check=False
    )


def test_a_one_megabyte_value_reaches_bash_exactly(
    tmp_path: Path, statemachine: StartMachine
) -> None:
    # 1 MB of text with every quoting hazard in it.
    unit = "a'b\"c$(touch pwned)`touch pwned`\\ \t\n${x}EOF\n"
    value = (unit * (1024 * 1024 // len(unit) + 1))[: 1024 * 1024]
    digest = hashlib.sha256(value.encode()).hexdigest()
    machine = statemachine(write(tmp_path / "digest.yaml", CONFIG), "--machine-name", "digest")
    machine.expect(moved("digest", None, "start", "waiting"))
    payload = json.dumps({"v": value}).encode()
    sent = db_cli(
        "send-event", "--target", "digest", "--type", "go", "--payload-file", "-",
        stdin=payload, cwd=tmp_path,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    line = machine.expect(r"\[digest\] digests ")
    assert line.endswith(f"digests {digest} {digest} {digest} {digest} 1"), line
    machine.expect(moved("digest", "done", "continue", "waiting"))
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("command", ["send-event", "add-job"])
def test_payload_file_takes_twenty_megabytes_from_stdin(command: str, tmp_path: Path) -> None:
    value = "x" * (20 * 1024 * 1024)
    payload = json.dumps({"big": value}).encode()
    if command == "send-event":
        args = ["send-event", "--target", "someone", "--type", "go"]
        query = "SELECT length(payload) FROM machine_events"
    else:
        args = ["add-job", "--type", "big"]
        query = "SELECT length(data) FROM jobs"
    result = db_cli(*args, "--payload-file", "-", stdin=payload, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [(length,)] = sql(os.environ["STATEMACHINE_DB"], query)
    assert length >= len(value)


def test_payload_file_reads_a_file(tmp_path: Path) -> None:
    path = write(tmp_path / "payload.json", json.dumps({"k": "v" * 200_000}))
    result = db_cli("add-job", "--type", "t", "--payload-file", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [(data,)] = sql(os.environ["STATEMACHINE_DB"], "SELECT data FROM jobs")
    assert json.loads(data)["k"] == "v" * 200_000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--payload-file", "missing.json"], "cannot read --payload-file missing.json"),
        (["--payload", "{}", "--payload-file", "-"], "--payload or --payload-file, not both"),
    ],
)
def test_payload_file_errors_are_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    result = db_cli("send-event", "--target", "m", "--type", "go", *args, cwd=tmp_path)
    assert result.returncode == 2
    stderr = result.stderr.decode()
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr


def test_payload_file_refuses_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    result = db_cli(
        "send-event", "--target", "m", "--type", "go", "--payload-file", "-",
        stdin=b'{"v": "\xff"}', cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    assert "not UTF-8" in result.stderr.decode()

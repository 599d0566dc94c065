"""Large values (issue 13, point 10): over 128 KiB they cannot go through argv or the
environment (E2BIG), so they reach bash through an owner-only file, and so does a
command text that large (a long ``{x|raw}`` value); the CLI takes payloads of any size
from a file or stdin. Real processes throughout."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.fifo import Fifo
from tests.support.files import sql, write
from tests.support.pids import Reaper
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


def send_value(target: str, event: str, value: str, cwd: Path) -> None:
    """Send ``{"v": value}``, of any size, with ``statemachine-db send-event``."""
    sent = db_cli(
        "send-event", "--target", target, "--type", event, "--payload-file", "-",
        stdin=json.dumps({"v": value}).encode(), cwd=cwd,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr


def test_a_one_megabyte_value_reaches_bash_exactly(
    tmp_path: Path, statemachine: StartMachine
) -> None:
    # 1 MB of text with every quoting hazard in it.
    unit = "a'b\"c$(touch pwned)`touch pwned`\\ \t\n${x}EOF\n"
    value = (unit * (1024 * 1024 // len(unit) + 1))[: 1024 * 1024]
    digest = hashlib.sha256(value.encode()).hexdigest()
    machine = statemachine(write(tmp_path / "digest.yaml", CONFIG), "--machine-name", "digest")
    machine.expect(moved("digest", None, "start", "waiting"))
    send_value("digest", "go", value, tmp_path)
    line = machine.expect(r"\[digest\] digests ")
    assert line.endswith(f"digests {digest} {digest} {digest} {digest} 1"), line
    machine.expect(moved("digest", "done", "continue", "waiting"))
    assert not (tmp_path / "pwned").exists()


BIG = """
name: big
initial_state: waiting
events:
  raw: {context_map: {v: payload.v}}
  quoted: {context_map: {v: payload.v}}
transitions:
  - {from: waiting, to: raw_command, event: raw}
  - {from: waiting, to: quoted_value, event: quoted}
  - {from: raw_command, to: done, event: job_done}
  - {from: quoted_value, to: done, event: job_done}
  - {from: done, to: waiting, event: continue}
  - {from: "*", to: stopped, event: stop}
actions:
  raw_command:
    - type: bash
      command: |
        d=$(printf %s {v|raw} | sha256sum | cut -c1-64)
        echo "$d $0 $# $LINENO $(stat -c %a "$BASH_SOURCE") $(stat -c %a "${BASH_SOURCE%/*}")"
  quoted_value:
    - type: bash
      command: |
        d=$(printf %s {v} | sha256sum | cut -c1-64)
        echo "$d $0 $# $LINENO"
  done:
    - {type: log, message: "digests {stdout}"}
"""


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The TMPDIR of machines the test starts: empty again once each command has ended."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setenv("TMPDIR", str(directory))
    return directory


def digests_printed(event: str, value: str, tmp_path: Path, statemachine: StartMachine) -> str:
    """What the ``big`` machine's command prints for ``value`` after its digest (checked)."""
    machine = statemachine(write(tmp_path / "big.yaml", BIG), "--machine-name", "big")
    machine.expect(moved("big", None, "start", "waiting"))
    send_value("big", event, value, tmp_path)
    line = machine.expect(r"\[big\] digests ")
    digest = hashlib.sha256(value.encode()).hexdigest()
    assert f"digests {digest} " in line, line
    machine.expect(moved("big", "done", "continue", "waiting"))
    return line.split(f"digests {digest} ", 1)[1]


def test_a_raw_value_of_300_kib_runs_in_a_command_text_from_a_file(
    tmp_path: Path, statemachine: StartMachine, private_tmp: Path
) -> None:
    # Too large for one argument: `bash -c TEXT` would fail with E2BIG.
    value = os.urandom(150 * 1024).hex()
    # The whole value arrived; $0, $# and $LINENO are those of `bash -c TEXT`; the file
    # was owner-only, in an owner-only directory, and is gone.
    assert digests_printed("raw", value, tmp_path, statemachine) == "bash 0 2 600 700"
    assert os.listdir(private_tmp) == []


def test_a_quoted_value_of_300_kib_still_reaches_a_plain_command(
    tmp_path: Path, statemachine: StartMachine, private_tmp: Path
) -> None:
    unit = "a'b\"c$(touch pwned)`touch pwned`\\ \t\n${x}"
    value = (unit * (300 * 1024 // len(unit) + 1))[: 300 * 1024]
    assert digests_printed("quoted", value, tmp_path, statemachine) == "bash 0 2"
    assert os.listdir(private_tmp) == []
    assert not (tmp_path / "pwned").exists()


SLOW = """
name: slow
initial_state: waiting
events:
  go: {{context_map: {{v: payload.v}}}}
transitions:
  - {{from: waiting, to: running, event: go}}
  - {{from: running, to: waiting, event: error}}
  - {{from: "*", to: stopped, event: stop}}
actions:
  running:
    - type: bash
      command: |
        : {{v|raw}}
        echo $$ > {fifo}; exec sleep 1000
      timeout: {timeout}
"""


@pytest.mark.parametrize("ending", ["timeout", "stop"])
def test_a_large_command_cut_short_leaves_no_file_and_no_process(
    ending: str,
    tmp_path: Path,
    statemachine: StartMachine,
    private_tmp: Path,
    fifo: Fifo,
    reaper: Reaper,
) -> None:
    config = SLOW.format(fifo=fifo, timeout=1 if ending == "timeout" else 300)
    machine = statemachine(write(tmp_path / "slow.yaml", config), "--machine-name", "slow")
    machine.expect(moved("slow", None, "start", "waiting"))
    send_value("slow", "go", "x" * 300 * 1024, tmp_path)
    [sleep] = reaper.watch(int(fifo.readline()))
    if ending == "timeout":
        machine.expect(moved("slow", "running", "error", "waiting"))
        assert sleep.exited(timeout=0), "the timed-out command's process still runs"
        assert os.listdir(private_tmp) == []
        assert machine.stop() == 0
    else:
        assert machine.stop() == 0  # SIGTERM: the machine cancels the running action
        assert sleep.exited(), "the cancelled command's process outlived its machine"
    assert os.listdir(private_tmp) == []


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

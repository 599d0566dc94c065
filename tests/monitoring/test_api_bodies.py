"""Request bodies of the HTTP API: as large as any JSON the engine takes in (the
decoder's bound, ``jsondata.MAX_BYTES``), so a 16 MB payload goes through it like a small
one; a body beyond that bound gets 413 with a JSON answer, never a 500.

A real ``statemachine-ui`` and a real machine on the test's store.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from statemachine_engine._jsondata import MAX_BYTES
from tests.security.configs import WORKER
from tests.support.files import create_store, sql, write
from tests.support.processes import MachineProcess, moved, send

from .conftest import StartServer

StartMachine = Callable[..., MachineProcess]

SIXTEEN_MB = 16 * 1024 * 1024
JSON = {"content-type": "application/json"}


@pytest.fixture
def db() -> Path:
    path = Path(os.environ["STATEMACHINE_DB"])
    create_store(path)
    return path


def big_payload() -> dict[str, Any]:
    """Over 16 MB of JSON, with what its encoding must get right: multi-byte UTF-8,
    quotes, backslashes, newlines and control characters."""
    unit = 'ünïcødé "quoted" \\back\\slash\nline\ttab \x01 ✓ '
    return {"file": "big.bin", "blob": unit * (SIXTEEN_MB // len(unit.encode()) + 1)}


def test_a_16_mb_payload_sent_through_the_api_reaches_the_store_and_the_machine_intact(
    tmp_path: Path, db: Path, statemachine: StartMachine, ui_server: StartServer
) -> None:
    machine = statemachine(write(tmp_path / "worker.yaml", WORKER), "--machine-name", "receiver")
    machine.expect(moved("receiver", None, "start", "waiting"))
    server = ui_server("--allow-control")
    payload = big_payload()
    body = json.dumps({"type": "go", "payload": payload}, ensure_ascii=False).encode()
    assert len(body) > SIXTEEN_MB
    with server.http() as http:
        sent = http.post("/api/machines/receiver/events", content=body, headers=JSON)
    assert sent.status_code == 200, sent.text[:500]
    assert sent.json() == {"ok": True, "id": 1, "due_at": None, "warning": None}
    machine.expect(moved("receiver", "waiting", "go", "working"))
    machine.expect("working on big.bin")
    [(stored,)] = sql(db, "SELECT payload FROM machine_events WHERE event_type = 'go'")
    assert json.loads(stored) == payload
    send("receiver", "quit")
    assert machine.wait() == 0, machine.stderr
    assert "Traceback" not in server.process.stderr


def chunks(size: int, chunk: int = 1024 * 1024) -> Iterator[bytes]:
    """``size`` bytes of JSON whitespace, streamed (no content-length: chunked)."""
    while size > 0:
        yield b" " * min(chunk, size)
        size -= chunk


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_body_over_the_bound_gets_413_with_a_json_answer(
    declared: bool, db: Path, ui_server: StartServer
) -> None:
    server = ui_server("--allow-control")
    size = MAX_BYTES + 1
    content: bytes | Iterator[bytes] = b" " * size if declared else chunks(size)
    with server.http() as http:
        answer = http.post("/api/machines/receiver/events", content=content, headers=JSON)
    assert answer.status_code == 413, answer.text[:500]
    detail = json.loads(answer.text)["detail"]
    assert detail == f"the body is larger than {MAX_BYTES} bytes (64 MiB), the limit"
    assert sql(db, "SELECT count(*) FROM machine_events") == [(0,)]
    assert "Traceback" not in server.process.stderr
    described = server.get("/openapi.json")["paths"]["/api/machines/{name}/events"]["post"]
    assert str(MAX_BYTES) in described["responses"]["413"]["description"]

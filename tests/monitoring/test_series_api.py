"""``GET /api/series`` of a real server on a real SQLite file: the window before the
server started back-filled from history, then live samples of the metrics, each history
row counted once (also by a server started again), queues beside their consumers and
the instances per state of a config."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

from statemachine_engine.database import open_store
from statemachine_engine.database.store import OperatorStore
from tests.support.processes import run_cli

from .conftest import UI, Server, StartServer

INTERVAL = 0.2


async def run_jobs(db: Path, *, completed: list[str], failed: list[str]) -> None:
    store = open_store(str(db))
    try:
        for job_id in completed + failed:
            await store.add_job("render", {}, job_id=job_id, max_attempts=1)
            assert await store.claim_job_by_id(job_id, "w1") is not None
        for job_id in completed:
            assert await store.complete_job(job_id, worker="w1") is not None
        for job_id in failed:
            assert await store.fail_job(job_id, "broken", worker="w1") is not None
    finally:
        await store.close()


async def set_up_store(db: Path) -> None:
    """History before the server starts; 15 upload jobs nobody takes; 3 crawlers."""
    await run_jobs(db, completed=["a", "b"], failed=["c"])
    store = open_store(str(db))
    try:
        assert isinstance(store, OperatorStore)
        for n in range(15):
            await store.add_job("upload", {}, job_id=f"up-{n}")
        for n, state in enumerate(("fetch", "fetch", "parse")):
            name = f"crawler-{n}"
            await store.register_machine(
                name, config_name="Crawler", config_path="/p/crawler.yaml", pid=1,
                host=f"not-{socket.gethostname()}",
            )  # fmt: skip
            await store.save_transition(
                name, from_state=None, to_state=state, event="start", context={}, timers=[]
            )
    finally:
        await store.close()


def series_until(server: Server, predicate: Any, what: str, **params: str) -> dict[str, Any]:
    """The first answer that satisfies ``predicate`` (a sample comes every INTERVAL:
    nothing tells a client when, so it asks again)."""
    deadline = time.monotonic() + 20
    while True:
        found: dict[str, Any] = server.get("/api/series", params=params)
        if predicate(found):
            return found
        assert time.monotonic() < deadline, f"{what}: not within 20 s; last {found}"
        time.sleep(INTERVAL / 2)


async def test_series_back_fill_history_then_follow_the_metrics(
    tmp_path: Path, ui_server: StartServer
) -> None:
    db = tmp_path / "series.db"
    await set_up_store(db)
    server = ui_server("--db", db, "--series-interval", str(INTERVAL), "--series-window", "60")

    first = series_until(server, lambda s: len(s["times"]) > 0, "a first sample")
    assert first["backfilled"] is True
    assert first["totals"] == {"transitions": 3, "completed": 2, "failed": 1}
    assert (first["interval"], first["window"]) == (INTERVAL, 60.0)
    assert len(first["times"]) >= 60 / INTERVAL  # the whole window, in slots
    assert first["times"] == sorted(first["times"])
    before = [None] * (len(first["times"]) - 1)  # gauges have no history
    assert first["queues"]["upload"] == {
        "pending": [*before, 15.0], "processing": [*before, 0.0], "consumers": [*before, 0.0]
    }  # fmt: skip
    assert (first["config"], first["configs"]) == ("crawler", ["crawler"])
    assert {state: values[-1] for state, values in first["states"].items()} == {
        "fetch": 2.0, "parse": 1.0
    }  # fmt: skip

    await run_jobs(db, completed=["d"], failed=["e", "f"])
    live = series_until(server, lambda s: s["totals"]["failed"] == 3, "the live jobs counted")
    assert live["totals"] == {"transitions": 3, "completed": 3, "failed": 3}
    per_minute = live["jobs_per_minute"]
    assert len(per_minute["minutes"]) == len(per_minute["completed"]) >= 1
    assert (sum(per_minute["completed"]), sum(per_minute["failed"])) == (3, 3)

    # A short window cuts the answer; a server started again counts the same history.
    recent = server.get("/api/series", params={"window": "1"})
    assert 0 < len(recent["times"]) < len(live["times"])
    server.process.stop()
    again = ui_server("--db", db, "--series-interval", str(INTERVAL), "--series-window", "60")
    restarted = series_until(again, lambda s: len(s["times"]) > 0, "a first sample")
    assert restarted["totals"] == live["totals"]


def test_series_questions_are_checked(tmp_path: Path, ui_server: StartServer) -> None:
    server = ui_server(
        "--db", tmp_path / "empty.db", "--series-interval", str(INTERVAL), "--series-window", "60"
    )
    with server.http() as client:
        for window in ("0", "-5", "soon", "nan"):
            response = client.get("/api/series", params={"window": window})
            assert response.status_code == 400, window
            assert "window" in response.json()["detail"]
        assert client.get("/api/series", params={"config": "x" * 201}).status_code == 400
    empty = series_until(server, lambda s: len(s["times"]) > 0, "a first sample")
    assert (empty["queues"], empty["states"], empty["config"]) == ({}, {}, None)
    assert empty["totals"] == {"transitions": 0, "completed": 0, "failed": 0}
    assert "/api/series" in server.get("/openapi.json")["paths"]


def test_series_flags_are_bounded(tmp_path: Path) -> None:
    for args, said in (
        (("--series-interval", "0.01"), "--series-interval: at least 0.1 s"),
        (("--series-interval", "1", "--series-window", "3000"), "more than 2160 samples"),
        (("--series-interval", "0"), "--series-interval"),
    ):
        result = run_cli(*args, cwd=tmp_path, argv=UI)
        assert result.returncode == 2, args
        assert said in result.stderr
        assert "Traceback" not in result.stderr

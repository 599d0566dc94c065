"""The activity log read back from the store (``GET /api/activity``): levels, filters,
paging before an id."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from statemachine_engine.database._sqlite import SqliteStore
from statemachine_engine.monitoring import _activity as activity

from .conftest import StartServer


@pytest.mark.parametrize(
    ("kind", "payload", "level"),
    [
        ("activity_log", {"level": "success"}, "success"),
        ("activity_log", {"level": "<b>"}, "info"),
        ("activity_log", {}, "info"),
        ("error", {}, "error"),
        ("job_failed", {}, "error"),
        ("job_completed", {}, "success"),
        ("job_completion_refused", {}, "warning"),
        ("job_started", {}, "info"),
        ("event_dropped", {}, "warning"),
        ("machine_terminated", {"reason": "final"}, "info"),
        ("machine_terminated", {"reason": "signal"}, "warning"),
        ("state_change", {}, "transition"),
        ("bash_output", {}, "output"),
        ("anything_else", {}, "info"),
    ],
)
def test_levels_are_those_the_page_shows(kind: str, payload: dict, level: str) -> None:
    assert activity.level_of(kind, payload) == level


async def test_older_entries_come_in_pages_with_where_to_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(activity, "PAGE", 7)
    monkeypatch.setattr(activity, "MAX_SCAN", 30)
    store = SqliteStore(str(tmp_path / "db.sqlite"))
    try:
        # An error every 20 events of crawler_001, among the info lines of two others.
        for n in range(100):
            name = ("crawler_001", "crawler_002", "crawler-x")[n % 3]
            kind, level = ("error", "error") if n % 20 == 0 else ("activity_log", "info")
            await store.record_realtime(name, kind, {"message": f"line {n}", "level": level})
        newest = await activity.older(store, before_id=None, limit=4)
        assert [e["payload"]["message"] for e in newest["events"]] == [
            "line 99", "line 98", "line 97", "line 96"
        ]  # fmt: skip
        assert newest["before"] == newest["events"][-1]["id"]
        # A rare level: found a scan's worth at a time, and the answer says where to go on.
        errors = await activity.older(store, before_id=None, limit=10, levels=frozenset({"error"}))
        assert [e["payload"]["message"] for e in errors["events"]] == ["line 80"]
        assert errors["before"] == 101 - 30
        rest = await activity.older(store, before_id=errors["before"], limit=10,
                                    levels=frozenset({"error"}))  # fmt: skip
        assert [e["payload"]["message"] for e in rest["events"]] == ["line 60", "line 40"]
        last = await activity.older(store, before_id=rest["before"], limit=10,
                                    levels=frozenset({"error"}))  # fmt: skip
        assert [e["payload"]["message"] for e in last["events"]] == ["line 20"]
        end = await activity.older(store, before_id=last["before"], limit=10,
                                   levels=frozenset({"error"}))  # fmt: skip
        assert [e["payload"]["message"] for e in end["events"]] == ["line 0"]
        assert end["before"] is None
        # A template's instances (crawler_001, crawler_002), not crawler-x's name-alike.
        crawlers = await activity.older(store, before_id=None, limit=3, template="crawler")
        assert [e["machine_name"] for e in crawlers["events"]] == [
            "crawler_001", "crawler_002", "crawler_001"
        ]  # fmt: skip
        texts = await activity.older(store, before_id=None, limit=5, text="LINE 5")
        assert [e["payload"]["message"] for e in texts["events"]] == [
            "line 59", "line 58", "line 57", "line 56", "line 55"
        ]  # fmt: skip
    finally:
        await store.close()


def test_the_api_reads_the_store_with_filters(ui_server: StartServer, tmp_path: Path) -> None:
    import asyncio

    async def record() -> None:
        store = SqliteStore(os.environ["STATEMACHINE_DB"])
        try:
            await store.record_realtime("solo", "activity_log", {"message": "hello"})
            await store.record_realtime("solo", "error", {"message": "broke"})
            await store.record_realtime("other", "activity_log", {"message": "hi"})
        finally:
            await store.close()

    server = ui_server()
    asyncio.run(record())
    found = server.get("/api/activity", params={"machine": "solo", "level": "error,info"})
    assert [e["payload"]["message"] for e in found["events"]] == ["broke", "hello"]
    assert found["before"] is None
    assert (
        server.get("/api/activity", params={"text": "HI", "limit": 1})["events"][0]["machine_name"]
        == "other"
    )
    with server.http() as http:
        for params, said in [
            ({"level": "loud"}, "unknown level loud"),
            ({"before_id": "x"}, "before_id must be a whole number"),
            ({"limit": "5000"}, "limit must be between 1 and 1000"),
        ]:
            response = http.get("/api/activity", params=params)
            assert response.status_code == 400
            assert said in response.json()["detail"]
    described = server.get("/openapi.json")["paths"]["/api/activity"]["get"]
    assert {p["name"] for p in described["parameters"]} >= {"machine", "level", "before_id"}

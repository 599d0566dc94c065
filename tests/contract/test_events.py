"""Machine inboxes: events wait in the store until their machine consumes them."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from statemachine_engine.database.models.machine_event import MachineEvent
from statemachine_engine.database.store import Store, StoreError


def types(events: list[MachineEvent]) -> list[str]:
    return [event.event_type for event in events]


async def test_send_event_is_pending_for_its_target(store: Store) -> None:
    before = time.time()
    event_id = await store.send_event(
        "worker", "new_job", {"file": "ü.txt"}, source="controller", job_id="j1"
    )
    [event] = await store.pending_events("worker")
    assert event.id == event_id
    assert event.target_machine == "worker"
    assert event.source_machine == "controller"
    assert event.event_type == "new_job"
    assert event.payload == {"file": "ü.txt"}
    assert event.job_id == "j1"
    assert event.status == "pending"
    assert before <= event.created_at <= time.time()
    assert event.processed_at is None
    assert await store.pending_events("someone-else") == []


async def test_send_event_defaults(store: Store) -> None:
    await store.send_event("m", "ping")
    [event] = await store.pending_events("m")
    assert event.payload == {}
    assert event.source_machine is None
    assert event.job_id is None


async def test_payload_has_no_size_limit(store: Store) -> None:
    payload = {"blob": "é" * 1_000_000, "list": list(range(1000))}
    await store.send_event("m", "big", payload)
    [event] = await store.pending_events("m")
    assert event.payload == payload


async def test_payload_that_is_not_json_is_refused(store: Store) -> None:
    with pytest.raises(StoreError):
        await store.send_event("m", "bad", {"x": object()})
    assert await store.pending_events("m") == []


async def test_pending_events_order_after_id_and_limit(store: Store) -> None:
    ids = []
    for n in range(5):
        ids.append(await store.send_event("m", f"e{n}"))
        await store.send_event("other", f"o{n}")
    assert ids == sorted(ids)
    assert len(set(ids)) == 5
    assert types(await store.pending_events("m")) == ["e0", "e1", "e2", "e3", "e4"]
    assert types(await store.pending_events("m", after_id=ids[1])) == ["e2", "e3", "e4"]
    assert types(await store.pending_events("m", limit=2)) == ["e0", "e1"]
    assert types(await store.pending_events("m", after_id=ids[0], limit=2)) == ["e1", "e2"]
    assert await store.pending_events("m", after_id=ids[-1]) == []
    assert types(await store.pending_events("other")) == ["o0", "o1", "o2", "o3", "o4"]


async def test_mark_events(store: Store) -> None:
    first = await store.send_event("m", "a")
    second = await store.send_event("m", "b")
    third = await store.send_event("m", "c")
    before = time.time()
    assert await store.mark_events([first, third], "processed") == 2
    assert types(await store.pending_events("m")) == ["b"]
    assert await store.mark_events([first], "processed") == 0, "marked twice"
    assert await store.mark_events([second], "dropped") == 1
    assert await store.pending_events("m") == []
    assert await store.mark_events([], "processed") == 0
    assert await store.mark_events([999_999], "processed") == 0
    processed = await store.list_events(target="m", status="processed")
    assert [event.id for event in processed] == [third, first]
    for event in processed:
        assert event.processed_at is not None
        assert before <= event.processed_at <= time.time()


async def test_mark_events_with_an_unknown_status_is_an_error(store: Store) -> None:
    event_id = await store.send_event("m", "a")
    with pytest.raises(StoreError):
        await store.mark_events([event_id], "eaten")
    assert types(await store.pending_events("m")) == ["a"]


async def test_list_events_newest_first_with_filters(store: Store) -> None:
    a = await store.send_event("m", "a")
    await store.send_event("n", "b")
    await store.send_event("m", "c")
    await store.mark_events([a], "processed")
    assert types(await store.list_events()) == ["c", "b", "a"]
    assert types(await store.list_events(limit=2)) == ["c", "b"]
    assert types(await store.list_events(target="m")) == ["c", "a"]
    assert types(await store.list_events(status="pending")) == ["c", "b"]
    assert types(await store.list_events(target="m", status="processed")) == ["a"]
    assert await store.list_events(target="nobody") == []


async def test_cleanup_events(store: Store) -> None:
    a = await store.send_event("m", "a")
    await store.send_event("m", "b")
    c = await store.send_event("n", "c")
    await store.mark_events([a, c], "processed")
    assert await store.cleanup_events(status="processed") == 2
    assert types(await store.list_events()) == ["b"]
    assert await store.cleanup_events(status="processed") == 0
    await store.send_event("n", "d")
    assert await store.cleanup_events() == 2
    assert await store.list_events() == []
    assert await store.cleanup_events() == 0


async def test_events_are_visible_to_another_handle(
    store: Store, store_factory: Callable[[], Store]
) -> None:
    other = store_factory()
    event_id = await other.send_event("m", "from-elsewhere", {"n": 1})
    [event] = await store.pending_events("m")
    assert (event.id, event.payload) == (event_id, {"n": 1})
    assert await store.mark_events([event_id], "processed") == 1
    assert await other.pending_events("m") == []

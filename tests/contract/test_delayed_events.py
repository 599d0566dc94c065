"""Delayed events: an event with a due time waits in its inbox until then, can be
cancelled before, and is shown with its due time."""

from __future__ import annotations

import re
import time

import pytest

from statemachine_engine.config._timeouts import MAX_DELAY_SECONDS
from statemachine_engine.database._waits import DELAYED_EVENT, TIMEOUT, machine_waits
from statemachine_engine.database.store import OperatorStore, Store, StoreError

HOUR = 3600.0


def operator(store: Store) -> OperatorStore:
    assert isinstance(store, OperatorStore)
    return store


async def test_a_delayed_event_is_stored_with_its_due_time(store: Store) -> None:
    due = time.time() + HOUR
    event_id = await store.send_event("m", "remind", {"n": 1}, due_at=due, source="a")
    [event] = await store.pending_events("m")
    assert event.id == event_id
    assert event.due_at == pytest.approx(due)
    assert not event.is_due(time.time())
    assert event.is_due(due)


@pytest.mark.parametrize(
    ("ahead", "refused"),
    [
        (MAX_DELAY_SECONDS + HOUR, "due_at must be at most 100 years ahead (3155760000 seconds)"),
        (1e300, "due_at must be at most 100 years ahead"),
        (float("inf"), "due_at must be a time (epoch seconds), not inf"),
        (float("nan"), "due_at must be a time (epoch seconds), not nan"),
    ],
)
async def test_a_due_time_no_listing_could_show_is_refused(
    store: Store, ahead: float, refused: str
) -> None:
    with pytest.raises(StoreError, match=re.escape(refused)):
        await store.send_event("m", "late", due_at=time.time() + ahead)
    assert await store.pending_events("m") == []
    far = time.time() + MAX_DELAY_SECONDS - HOUR
    await store.send_event("m", "late", due_at=far)
    [event] = await store.pending_events("m")
    assert event.due_at == pytest.approx(far)


async def test_an_ordinary_event_has_no_due_time(store: Store) -> None:
    await store.send_event("m", "now")
    [event] = await store.pending_events("m")
    assert event.due_at is None
    assert event.is_due(0.0)


async def test_due_events_are_those_whose_time_has_come(store: Store) -> None:
    now = time.time()
    later = await store.send_event("m", "later", due_at=now + HOUR)
    past = await store.send_event("m", "past", due_at=now - 1)
    await store.send_event("m", "ordinary")
    await store.send_event("other", "past", due_at=now - 1)
    assert [e.id for e in await store.due_events("m", now=now)] == [past]
    assert [e.id for e in await store.due_events("m", now=now + HOUR)] == [later, past]
    assert await store.due_events("m", now=now, after_id=past) == []
    assert await store.next_due_at("m", now=now) == pytest.approx(now + HOUR)
    assert await store.next_due_at("m", now=now + HOUR) is None
    assert await store.next_due_at("nobody", now=now) is None


async def test_due_events_come_in_pages_in_the_order_sent(store: Store) -> None:
    now = time.time()
    ids = [await store.send_event("m", f"e{n}", due_at=now - n) for n in range(5)]
    first = await store.due_events("m", now=now, limit=2)
    assert [e.id for e in first] == ids[:2]
    rest = await store.due_events("m", now=now, after_id=first[-1].id, limit=10)
    assert [e.id for e in rest] == ids[2:]


async def test_a_consumed_delayed_event_is_not_due_again(store: Store) -> None:
    now = time.time()
    event_id = await store.send_event("m", "past", due_at=now - 1)
    await store.mark_events([event_id], "processed")
    assert await store.due_events("m", now=now) == []
    assert await operator(store).delayed_events(target="m") == []


async def test_cancel_a_delayed_event_before_it_is_due(store: Store) -> None:
    ops = operator(store)
    event_id = await store.send_event("m", "remind", due_at=time.time() + HOUR)
    cancelled = await ops.cancel_event(event_id)
    assert (cancelled.id, cancelled.event_type, cancelled.status) == (event_id, "remind", "pending")
    [event] = await ops.list_events(target="m")
    assert (event.status, event.reason) == ("dropped", "cancelled")
    assert await store.next_due_at("m", now=time.time()) is None
    assert await store.due_events("m", now=time.time() + 2 * HOUR) == []
    with pytest.raises(StoreError, match=f"event {event_id} cannot be cancelled: it is dropped"):
        await ops.cancel_event(event_id)


async def test_what_cannot_be_cancelled_says_why(store: Store) -> None:
    ops = operator(store)
    with pytest.raises(StoreError, match="no event has id 999"):
        await ops.cancel_event(999)
    ordinary = await store.send_event("m", "now")
    with pytest.raises(StoreError, match="not a delayed event"):
        await ops.cancel_event(ordinary)
    due = await store.send_event("m", "due", due_at=time.time() - 1)
    with pytest.raises(StoreError, match="fell due already"):
        await ops.cancel_event(due)
    handled = await store.send_event("m", "handled", due_at=time.time() + HOUR)
    await store.mark_events([handled], "processed")
    with pytest.raises(StoreError, match="it is processed already"):
        await ops.cancel_event(handled)
    assert [e.status for e in await ops.list_events(target="m")] == [
        "processed",
        "pending",
        "pending",
    ]


async def test_delayed_events_are_listed_soonest_first(store: Store) -> None:
    ops = operator(store)
    now = time.time()
    late = await store.send_event("a", "late", due_at=now + 2 * HOUR)
    soon = await store.send_event("b", "soon", due_at=now + HOUR)
    await store.send_event("a", "ordinary")
    assert [e.id for e in await ops.delayed_events()] == [soon, late]
    assert [e.id for e in await ops.delayed_events(target="a")] == [late]
    assert [e.id for e in await ops.delayed_events(limit=1)] == [soon]
    assert [e.id for e in await ops.delayed_events(limit=None)] == [soon, late]


async def test_a_machine_waits_for_its_timeouts_and_its_delayed_events(store: Store) -> None:
    ops = operator(store)
    now = time.time()
    await store.save_transition(
        "m",
        from_state=None,
        to_state="waiting",
        event="start",
        context={},
        timers=[("timeout(2h)", now + 2 * HOUR)],
    )
    event_id = await store.send_event("m", "remind", due_at=now + HOUR, source="a")
    record = await store.load_machine("m")
    assert record is not None
    waits = machine_waits([record], await ops.delayed_events())["m"]
    assert [(w.kind, w.event, w.event_id, w.source) for w in waits] == [
        (DELAYED_EVENT, "remind", event_id, "a"),
        (TIMEOUT, "timeout(2h)", None, None),
    ]
    assert waits[0].due_at == pytest.approx(now + HOUR)

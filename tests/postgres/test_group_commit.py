"""Group commit on PostgreSQL: a drained backlog commits in groups, each event handled
once, dropped events keep their reason (docs/durability.md)."""

from __future__ import annotations

from statemachine_engine.database._postgres import PostgresStore
from tests.support.engines import PINGPONG, Machines, run_to_end


async def test_a_backlog_drains_in_groups_with_each_event_handled_once(
    store: PostgresStore,
) -> None:
    for _ in range(600):
        await store.send_event("pingpong", "ping", {}, source="test")
    await store.send_event("pingpong", "bogus", {}, source="test")
    await store.send_event("pingpong", "stop", {}, source="test")
    async with Machines() as machines:
        engine, _ = machines.build(PINGPONG, store=store, machine_name="pingpong")
        assert await run_to_end(engine) == "stopped"
    events = await store.list_events(target="pingpong", limit=None)
    statuses = sorted({(event.event_type, event.status, event.reason) for event in events})
    assert statuses == [
        ("bogus", "dropped", "no transition from 'a' on 'bogus'"),
        ("ping", "processed", None),
        ("stop", "processed", None),
    ]
    history = await store.transition_history("pingpong", limit=None)
    assert len(history) == 602  # the start, 600 pings, the stop
    assert [step.event for step in history[:2]] == ["stop", "ping"]  # newest first
    assert (await store.load_machine("pingpong")).current_state == "stopped"

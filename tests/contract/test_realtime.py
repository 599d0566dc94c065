"""The realtime event log monitors replay from."""

from __future__ import annotations

import time

from statemachine_engine._jsondata import JSONText
from statemachine_engine.database.store import Store


async def test_record_and_list_in_order(store: Store) -> None:
    before = time.time()
    first = await store.record_realtime("m1", "state_change", {"from": "a", "to": "b"})
    second = await store.record_realtime("m2", "activity_log", {"message": "héllo"})
    third = await store.record_realtime("m1", "state_change", None)
    assert first < second < third
    events = await store.list_realtime()
    assert [e.id for e in events] == [first, second, third]
    assert events[0].machine_name == "m1"
    assert events[0].event_type == "state_change"
    assert events[0].payload == {"from": "a", "to": "b"}
    assert events[1].payload == {"message": "héllo"}
    assert events[2].payload == {}
    assert all(before <= e.created_at <= time.time() for e in events)


async def test_list_after_id_machine_and_limit(store: Store) -> None:
    ids = [await store.record_realtime(f"m{n % 2}", "tick", {"n": n}) for n in range(6)]
    assert [e.payload["n"] for e in await store.list_realtime(after_id=ids[2])] == [3, 4, 5]
    assert [e.payload["n"] for e in await store.list_realtime(machine="m1")] == [1, 3, 5]
    assert [e.payload["n"] for e in await store.list_realtime(after_id=ids[1], machine="m0")] == [
        2,
        4,
    ]
    assert [e.payload["n"] for e in await store.list_realtime(limit=2)] == [0, 1]
    assert await store.list_realtime(after_id=ids[-1]) == []
    assert await store.list_realtime(machine="nobody") == []


async def test_payload_json_cannot_hold_is_kept_as_text(store: Store) -> None:
    await store.record_realtime("m1", "odd", {"value": object()})
    [event] = await store.list_realtime()
    assert isinstance(event.payload["value"], str)


async def test_a_batch_is_recorded_in_order(store: Store) -> None:
    await store.record_realtime("m0", "before", {})
    await store.record_realtime_batch(
        "m1", [("state_change", {"to": "a"}), ("activity_log", None), ("state_change", {"to": "b"})]
    )
    await store.record_realtime_batch("m1", [])
    events = await store.list_realtime(machine="m1")
    assert [(e.event_type, e.payload) for e in events] == [
        ("state_change", {"to": "a"}),
        ("activity_log", {}),
        ("state_change", {"to": "b"}),
    ]


async def test_events_of_several_machines_are_recorded_together_in_order(store: Store) -> None:
    await store.record_realtime_events(
        [("m1", "state_change", {"n": 0}), ("m2", "state_change", {"n": 1}), ("m1", "log", None)]
    )
    await store.record_realtime_events([])
    events = await store.list_realtime()
    assert [(e.machine_name, e.event_type, e.payload) for e in events] == [
        ("m1", "state_change", {"n": 0}),
        ("m2", "state_change", {"n": 1}),
        ("m1", "log", {}),
    ]
    assert [e.id for e in events] == sorted(e.id for e in events)


async def test_a_batch_takes_payloads_encoded_already_or_not(store: Store) -> None:
    await store.record_realtime_events(
        [
            ("m1", "encoded", JSONText('{"a":[1,2]}')),
            ("m1", "odd", {"value": object()}),
            ("m2", "plain", {"b": "é"}),
        ]
    )
    events = await store.list_realtime()
    assert [e.payload for e in events][::2] == [{"a": [1, 2]}, {"b": "é"}]
    assert isinstance(events[1].payload["value"], str)


async def test_read_backwards_before_an_id_by_machine_prefix_and_text(store: Store) -> None:
    ids = [
        await store.record_realtime(name, kind, payload)
        for name, kind, payload in [
            ("crawler_001", "activity_log", {"message": "Fetched 100% of a_b"}),
            ("crawler_002", "state_change", {"to_state": "parsing"}),
            ("crawlerx", "activity_log", {"message": "fetched too"}),
            ("crawler_001", "action_finished", {"action": "bash", "seconds": 0.1}),
            ("solo", "error", {"message": "Boom"}),
            ("crawler_001", "activity_log", {"message": "fetched again"}),
        ]
    ]
    end = ids[-1] + 1

    def names(events: list) -> list[tuple[str, str]]:
        return [(e.machine_name, e.event_type) for e in events]

    # Newest first, before the id given; the durations of actions are no log lines.
    assert [e.id for e in await store.realtime_before(end)] == [
        ids[5],
        ids[4],
        ids[2],
        ids[1],
        ids[0],
    ]
    assert [e.id for e in await store.realtime_before(ids[2])] == [ids[1], ids[0]]
    assert [e.id for e in await store.realtime_before(end, limit=2)] == [ids[5], ids[4]]
    assert names(await store.realtime_before(end, machine="crawler_001")) == [
        ("crawler_001", "activity_log"),
        ("crawler_001", "activity_log"),
    ]
    assert names(await store.realtime_before(end, prefix="crawler_")) == [
        ("crawler_001", "activity_log"),
        ("crawler_002", "state_change"),
        ("crawler_001", "activity_log"),
    ]
    # Text in any case, in the payload or the machine's name; % and _ are plain text.
    assert [e.id for e in await store.realtime_before(end, text="FETCHED")] == [
        ids[5],
        ids[2],
        ids[0],
    ]
    assert [e.id for e in await store.realtime_before(end, text="100% of a_b")] == [ids[0]]
    assert [e.id for e in await store.realtime_before(end, text="a%b")] == []
    assert [e.id for e in await store.realtime_before(end, text="solo")] == [ids[4]]
    assert [e.id for e in await store.realtime_before(end, prefix="crawler_", text="again")] == [
        ids[5]
    ]
    assert await store.realtime_before(ids[0]) == []


async def ids_left(store: Store) -> list[int]:
    return [event.id for event in await store.list_realtime(limit=10_000)]


async def test_pruning_keeps_the_newest_events_and_deletes_at_most_the_limit(store: Store) -> None:
    await store.record_realtime_events([("m", "tick", {"n": n}) for n in range(30)])
    recorded = await ids_left(store)
    assert await store.prune_realtime_events(older_than=None, keep=10, limit=8) == 8
    assert await ids_left(store) == recorded[8:]  # the oldest first
    assert await store.prune_realtime_events(older_than=None, keep=10, limit=8) == 8
    assert await store.prune_realtime_events(older_than=None, keep=10, limit=8) == 4
    assert await store.prune_realtime_events(older_than=None, keep=10, limit=8) == 0
    assert await ids_left(store) == recorded[-10:]
    assert await store.prune_realtime_events(older_than=3600, keep=None, limit=100) == 0
    assert await store.prune_realtime_events(older_than=None, keep=None, limit=100) == 0
    assert await ids_left(store) == recorded[-10:]


async def test_pruning_by_age_keeps_the_newest_event_so_ids_never_start_again(
    store: Store,
) -> None:
    await store.record_realtime_events([("m", "tick", {"n": n}) for n in range(5)])
    recorded = await ids_left(store)
    # Every event is older than a microsecond by now: all go but the newest, which
    # followers (the monitor, the metrics) read after.
    assert await store.prune_realtime_events(older_than=1e-6, keep=None, limit=100) == 4
    assert await ids_left(store) == recorded[-1:]
    assert await store.prune_realtime_events(older_than=1e-6, keep=1, limit=100) == 0
    later = await store.record_realtime("m", "tick", {"n": 5})
    assert later > recorded[-1]
    assert [e.payload for e in await store.list_realtime(after_id=recorded[-1])] == [{"n": 5}]

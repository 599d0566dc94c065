"""An inbox event whose NOTIFY never comes still reaches its running machine: the
process's inbox watch sweeps the inboxes holding unconsumed events."""

from __future__ import annotations

import pytest

from statemachine_engine.config.loader import config_from_text
from statemachine_engine.core._host import MachineHost
from statemachine_engine.database._postgres import PostgresStore
from statemachine_engine.messaging import _inbox_watch as inbox_watch
from tests.support.recorder import Recorder

SINK = """
initial_state: idle
transitions:
  - {from: idle, to: idle, event: hello}
  - {from: idle, to: pinged, event: ping}
  - {from: "*", to: stopped, event: stop}
"""


async def test_an_event_committed_without_its_notify_is_swept_up(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox_watch, "SWEEP_INTERVAL_SECONDS", 0.1)
    recorder = Recorder()
    async with MachineHost(store=store, control=False, event_socket_path=False) as host:
        host.spawn(config_from_text(SINK), machine_name="sink", observers=[recorder])
        await recorder.entered("idle")
        await store.send_event("sink", "hello")  # heard through its NOTIFY: it follows
        await recorder.entered("idle", times=2)
        # As if the notification were lost: the event alone is committed.
        await store.connector.run_sql(
            "ALTER TABLE machine_events DISABLE TRIGGER machine_events_notify"
        )
        await store.send_event("sink", "ping")
        await recorder.entered("pinged")
        host.stop()

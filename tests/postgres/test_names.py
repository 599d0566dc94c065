"""A machine name is held in the PostgreSQL store: one live process per name, whatever
socket directory (or host) each process uses."""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest

from statemachine_engine.database._postgres import PostgresStore
from tests.support.files import write
from tests.support.processes import moved

from .conftest import Host

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Unix processes")

SINK = """
    initial_state: idle
    transitions:
      - {from: idle, to: idle, event: ping}
      - {from: "*", to: stopped, event: stop}
    """


async def test_one_name_on_one_store_is_refused_from_another_socket_directory(
    hosts: Callable[[str], Host], store: PostgresStore
) -> None:
    one, two = hosts("one"), hosts("two")
    config = write(one.root / "sink.yaml", SINK)
    first = one.run(config)
    first.expect(moved("sink", None, "start", "idle"))
    second = two.run(config)
    assert second.wait() == 1
    assert "machine 'sink' is already running against postgresql://" in second.stderr
    assert f"pid {first.proc.pid}" in second.stderr
    assert "Traceback" not in second.stderr
    # The one machine that runs gets each event once.
    for _ in range(3):
        await store.send_event("sink", "ping")
    for _ in range(3):
        first.expect(moved("sink", "idle", "ping", "idle"))
    assert first.stop() == 0
    history = await store.transition_history("sink", limit=100)
    assert sum(1 for record in history if record.event == "ping") == 3

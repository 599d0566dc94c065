"""Delayed events across hosts on PostgreSQL: the sender on one host, the receiver on
another, both killed before the event is due; the receiver, started again before its
time, takes it then, once."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable

import pytest

from statemachine_engine.database._postgres import PostgresStore
from tests.integration.test_delayed_events import RECEIVER, sender
from tests.postgres.conftest import Host
from tests.support.files import write
from tests.support.processes import moved

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses signals")


async def test_a_delayed_event_crosses_hosts_and_restarts(
    hosts: Callable[[str], Host], store: PostgresStore
) -> None:
    a, b = hosts("a"), hosts("b")
    receiver_config = write(b.root / "receiver.yaml", RECEIVER)
    sender_config = write(a.root / "sender.yaml", sender("delay: 4"))
    receiver = b.run(receiver_config, "--machine-name", "receiver")
    receiver.expect(moved("receiver", None, "start", "waiting"))
    sending = a.run(sender_config, "--machine-name", "sender")
    sending.expect(re.escape("[sender] sent reminder "))
    sending.kill()
    receiver.kill()
    [event] = await store.delayed_events(target="receiver")
    assert event.due_at is not None
    assert time.time() < event.due_at, "killed too late for the test to mean anything"

    again = b.run(receiver_config, "--machine-name", "receiver")
    again.expect(re.escape("[receiver] resumed in 'waiting'"))
    again.expect(moved("receiver", "waiting", "remind", "reminded"))
    assert time.time() >= event.due_at  # never before its time
    await store.send_event("receiver", "stop")
    again.expect(moved("receiver", "reminded", "stop", "stopped"))
    assert again.wait() == 0
    assert again.count(r"--remind-->") == 1
    [handled] = [e for e in await store.list_events(target="receiver") if e.id == event.id]
    assert handled.status == "processed"

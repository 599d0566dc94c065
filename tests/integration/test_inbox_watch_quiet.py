"""An idle process's inbox watch looks less often once its store has been quiet, and at
its usual pace again as soon as another connection commits."""

from __future__ import annotations

import asyncio
from pathlib import Path

from statemachine_engine.database._sqlite import SqliteStore
from statemachine_engine.messaging._inbox_watch import (
    QUIET_CHECKS,
    QUIET_INTERVAL_SECONDS,
    WATCH_INTERVAL_SECONDS,
    InboxWatch,
)


async def test_the_watch_slows_down_in_a_quiet_store_and_speeds_up_on_a_change(
    tmp_path: Path,
) -> None:
    store = SqliteStore(str(tmp_path / "q.db"))
    other = SqliteStore(str(tmp_path / "q.db"))
    pulled: list[str] = []
    watch = InboxWatch.of(store)
    try:
        watch.add("m", seen=lambda: 0, request_pull=lambda: pulled.append("m"))
        if watch._look is not None:  # its first read of the inbox heads
            await watch._look

        def next_check() -> float:
            assert watch._timer is not None
            return watch._timer.when() - asyncio.get_running_loop().time()

        assert next_check() <= WATCH_INTERVAL_SECONDS
        for _ in range(QUIET_CHECKS):
            watch._timer.cancel()
            watch._tick()
        assert next_check() > WATCH_INTERVAL_SECONDS
        assert next_check() <= QUIET_INTERVAL_SECONDS
        await other.send_event("m", "ping")  # committed by another connection, no wake-up
        watch._timer.cancel()
        watch._tick()
        assert watch._look is not None, "the change is seen: the heads are read"
        await watch._look
        assert pulled == ["m"], "the event found without its wake-up"
        assert next_check() <= WATCH_INTERVAL_SECONDS
    finally:
        watch.remove("m")
        await other.close()
        await store.close()

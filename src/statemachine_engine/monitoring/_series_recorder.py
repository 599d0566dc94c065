"""Keeps the charts' time series (:mod:`._series`) current: a sample of the ``/metrics``
snapshot every interval (the snapshot's cache means a scrape and a sample in the same
second read the store once), and at start the window before back-filled from the store's
history up to the rows the first snapshot counted, so that no row counts twice."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._tasks import cancel_and_wait
from ._series import SeriesBook, Slot, answer, reading_of, slots_from_rows

if TYPE_CHECKING:
    from ..database.store import OperatorStore
    from ._metrics import StoreMetrics

logger = logging.getLogger("statemachine_engine.monitoring")


class SeriesRecorder:
    """Samples ``metrics`` every ``interval`` seconds for the last ``window`` seconds.

    Args:
        metrics: the server's metrics (their cache is shared with ``/metrics``).
        store: the store, for the back-fill.
        interval: seconds between samples.
        window: seconds of samples kept.
    """

    def __init__(
        self,
        metrics: StoreMetrics,
        store: OperatorStore,
        *,
        interval: float,
        window: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.interval = interval
        self.window = window
        self.book = SeriesBook(max(1, math.ceil(window / interval)))
        self._metrics = metrics
        self._store = store
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self.started = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="monitor:series")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)

    def answer_time(self) -> float:
        """Now, by the clock the samples are taken with."""
        return self._clock()

    def answer(self, *, since: float | None, config: str | None) -> dict[str, Any]:
        """What ``GET /api/series`` answers (see :func:`._series.answer`)."""
        return {
            **answer(self.book, interval=self.interval, since=since, config=config),
            "now": self.answer_time(),
        }

    async def _run(self) -> None:
        while not self.started.is_set():
            try:
                await self._first()
            except Exception:  # a store not reachable yet: try again next interval
                logger.warning("could not read the metrics for the charts", exc_info=True)
                await asyncio.sleep(self.interval)
        while True:
            await asyncio.sleep(self.interval)
            try:
                snapshot = await self._metrics.snapshot()
            except Exception:  # a store hiccup leaves a gap in the charts, not an end
                logger.warning("could not read the metrics for the charts", exc_info=True)
                continue
            self.book.record(self._clock(), reading_of(snapshot))

    async def _first(self) -> None:
        snapshot = await self._metrics.snapshot()
        at = self._clock()
        try:
            history = await self._history(at, snapshot.heads)
        except Exception:  # the charts start empty rather than not at all
            logger.warning("could not back-fill the charts from history", exc_info=True)
            history = []
        self.book.start(at, reading_of(snapshot), history)
        self.started.set()

    async def _history(self, until: float, heads: dict[str, int]) -> list[Slot]:
        since = until - self.book.capacity * self.interval
        common = {"since": since, "slot_seconds": self.interval}
        transitions = await self._store.metric_slots(
            "series_transitions", upto_id=heads.get("transitions", 0), **common
        )
        job_ends = await self._store.metric_slots(
            "series_job_ends", upto_id=heads.get("jobs", 0), **common
        )
        return slots_from_rows(
            transitions, job_ends, since=since, until=until, slot_seconds=self.interval
        )

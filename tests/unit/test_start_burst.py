"""The cyclic collector waits while many machines start at once, and only then."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from statemachine_engine.core._start_burst import BURST, StartBurst


@pytest.fixture(autouse=True)
def collector_enabled() -> Iterator[None]:
    assert gc.isenabled()
    yield
    gc.enable()
    gc.unfreeze()


def test_a_few_machines_starting_leave_the_collector_alone() -> None:
    burst = StartBurst()
    for _ in range(BURST - 1):
        burst.starting()
    assert gc.isenabled()
    assert not burst.holding


def test_a_burst_holds_the_collector_until_every_machine_has_started() -> None:
    burst = StartBurst()
    for _ in range(BURST + 10):
        burst.starting()
    assert not gc.isenabled()
    for _ in range(BURST + 9):
        burst.started()
    assert not gc.isenabled(), "one machine is still starting"
    burst.started()
    assert gc.isenabled()
    assert not burst.holding


def test_what_a_burst_left_is_frozen_until_the_host_closes() -> None:
    burst = StartBurst()
    for _ in range(BURST):
        burst.starting()
    left = [object() for _ in range(3)]
    for _ in range(BURST):
        burst.started()
    assert gc.get_freeze_count() >= len(left), "the next collections skip it"
    burst.close()
    assert gc.get_freeze_count() == 0


def test_a_collector_disabled_by_someone_else_stays_disabled() -> None:
    gc.disable()
    burst = StartBurst()
    for _ in range(BURST):
        burst.starting()
    for _ in range(BURST):
        burst.started()
    assert not gc.isenabled(), "not ours to enable"


def test_release_lets_the_collector_run_when_starts_never_finish() -> None:
    burst = StartBurst()
    for _ in range(BURST):
        burst.starting()
    burst.release()
    assert gc.isenabled()

"""Fixtures over :mod:`tests.support`, registered for every tier by ``tests/conftest.py``."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from .fifo import Fifo
from .pids import Reaper
from .processes import STATEMACHINE, MachineProcess
from .recorder import LogWatcher


@pytest.fixture
def log_watcher() -> Iterator[LogWatcher]:
    """The ``statemachine_engine`` logger's records, at DEBUG, for this test."""
    watcher = LogWatcher()
    logger = logging.getLogger("statemachine_engine")
    old_level = logger.level
    logger.addHandler(watcher)
    logger.setLevel(logging.DEBUG)
    try:
        yield watcher
    finally:
        logger.removeHandler(watcher)
        logger.setLevel(old_level)


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Fifo]:
    """A FIFO in ``tmp_path`` (``pids.fifo``), closed at the end."""
    pipe = Fifo(tmp_path / "pids.fifo")
    try:
        yield pipe
    finally:
        pipe.close()


@pytest.fixture
def statemachine(tmp_path: Path) -> Iterator[Callable[..., MachineProcess]]:
    """``statemachine(*args, argv=...)`` starts ``statemachine *args`` in ``tmp_path``.

    Every process it started is ended, reaped and has its pipes closed at the end.
    """
    started: list[MachineProcess] = []

    def start(*args: str | Path, argv: Sequence[str] = STATEMACHINE) -> MachineProcess:
        machine = MachineProcess([*argv, *args], cwd=tmp_path)
        started.append(machine)
        return machine

    try:
        yield start
    finally:
        for machine in started:
            machine.close()


@pytest.fixture
def shells() -> Iterator[list[int]]:
    """Process groups (of shell commands whose machine died first) killed at the end."""
    groups: list[int] = []
    try:
        yield groups
    finally:
        for pgid in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)


@pytest.fixture
def reaper() -> Iterator[Reaper]:
    """Processes a test started itself: any still alive at the end are killed (a failure)."""
    reaper = Reaper()
    yield reaper
    survivors = reaper.finish()
    assert not survivors, f"processes outlived the test: {survivors}"

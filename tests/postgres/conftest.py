"""PostgreSQL-only fixtures: a fresh schema per test, and "hosts" that share only its URL.

A :class:`Host` is what separate machines would have of their own: a working directory
and a private socket directory. Processes started on different hosts can reach each
other only through the database.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from statemachine_engine.database._postgres import PostgresStore
from tests.support.postgres import fresh_schema
from tests.support.processes import STATEMACHINE, MachineProcess


@pytest.fixture
def url() -> Iterator[str]:
    """A store URL on a fresh schema of the test server (skips without a server)."""
    with fresh_schema() as made:
        yield made


@pytest.fixture
async def store(url: str) -> AsyncIterator[PostgresStore]:
    """The test's own handle on the schema."""
    handle = PostgresStore(url)
    try:
        yield handle
    finally:
        await handle.close()


@dataclass
class Host:
    """A simulated host: its own working and socket directories, the shared URL."""

    name: str
    root: Path
    url: str
    started: list[MachineProcess] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        sockets = self.root / "s"
        sockets.mkdir(mode=0o700, parents=True, exist_ok=True)
        return {
            **os.environ,
            "STATEMACHINE_SOCKET_DIR": str(sockets),
            "STATEMACHINE_CACHE_DIR": str(self.root / "cache"),
            "STATEMACHINE_DB": self.url,
        }

    def run(self, *args: str | Path, argv: Sequence[str] = STATEMACHINE) -> MachineProcess:
        """Start ``argv args`` on this host (``statemachine`` by default)."""
        self.root.mkdir(parents=True, exist_ok=True)
        process = MachineProcess([*argv, *args], cwd=self.root, env=self.env)
        self.started.append(process)
        return process


@pytest.fixture
def hosts(tmp_path: Path, url: str) -> Iterator[Callable[[str], Host]]:
    """``hosts(name)`` makes a host; every process started on one is ended at the end."""
    made: list[Host] = []

    def make(name: str) -> Host:
        host = Host(name, tmp_path / name, url)
        made.append(host)
        return host

    try:
        yield make
    finally:
        for host in made:
            for process in host.started:
                process.close()

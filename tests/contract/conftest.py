"""Fixtures of the store contract suite: every test runs once per backend.

A backend is a :class:`Backend` in :data:`BACKENDS`: how to make a fresh, empty database
for one test and how to open a handle on it. SQLite gets a new file, PostgreSQL a new
schema on the test server (:mod:`tests.support.postgres`; skipped when the server cannot
be reached, except under CI).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from statemachine_engine.database._sqlite import SqliteStore
from statemachine_engine.database.store import Store
from tests.support import postgres
from tests.support.files import sql

WORKER_SCRIPT = Path(__file__).with_name("_store_worker.py")


@dataclass(frozen=True)
class Backend:
    """How the suite gets a store of one kind.

    Attributes:
        name: the test id (``sqlite``, ``postgres``).
        make_location: a fresh, empty database for one test, given its tmp directory,
            as a context manager that removes it at the end.
        open: a new handle on the database at a location.
        end_backoff: makes a failed job's retry backoff end now (tests cannot wait
            seconds for it); the only place the suite reaches under the interface.
    """

    name: str
    make_location: Callable[[Path], AbstractContextManager[str]]
    open: Callable[[str], Store]
    end_backoff: Callable[[str, str], None]


@contextmanager
def _sqlite_location(tmp_path: Path) -> Iterator[str]:
    yield str(tmp_path / "store" / "contract.db")  # tmp_path goes with it


def _sqlite_end_backoff(location: str, job_id: str) -> None:
    sql(location, "UPDATE jobs SET run_after = 0 WHERE job_id = ?", (job_id,))


def _postgres_location(tmp_path: Path) -> AbstractContextManager[str]:
    return postgres.fresh_schema()


def _postgres_open(location: str) -> Store:
    from statemachine_engine.database._postgres import PostgresStore

    return PostgresStore(location)


def _postgres_end_backoff(location: str, job_id: str) -> None:
    schema = location.rsplit("%3D", 1)[1]
    postgres.admin(f'UPDATE "{schema}".jobs SET run_after = 0 WHERE job_id = %s', (job_id,))


BACKENDS: dict[str, Backend] = {
    "sqlite": Backend("sqlite", _sqlite_location, SqliteStore, _sqlite_end_backoff),
    "postgres": Backend("postgres", _postgres_location, _postgres_open, _postgres_end_backoff),
}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> Backend:
    return BACKENDS[request.param]


@pytest.fixture
def location(backend: Backend, tmp_path: Path) -> Iterator[str]:
    """Where this test's (fresh) database lives: a path or a URL."""
    with backend.make_location(tmp_path) as made:
        yield made


@pytest.fixture
async def store_factory(backend: Backend, location: str) -> AsyncIterator[Callable[[], Store]]:
    """Opens further handles on the test's database; all are closed at the end."""
    opened: list[Store] = []

    def open_store() -> Store:
        handle = backend.open(location)
        opened.append(handle)
        return handle

    yield open_store
    for handle in opened:
        await handle.close()


@pytest.fixture
def end_backoff(backend: Backend, location: str) -> Callable[[str], None]:
    """``end_backoff(job_id)``: the failed job becomes claimable at once."""
    return lambda job_id: backend.end_backoff(location, job_id)


@pytest.fixture
def store(store_factory: Callable[[], Store]) -> Store:
    """A fresh store on an empty database, for every backend."""
    return store_factory()


class WorkerPool:
    """``_store_worker.py`` processes that wait at a start line, then run together."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, count: int, *args: str) -> None:
        """Starts ``count`` workers (named w0, w1...) and waits until each is ready."""
        for index in range(count):
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, str(WORKER_SCRIPT), *args, f"w{index}"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        for proc in self.procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()  # blocks until the worker has imported and opened
            if line.strip() != "ready":
                _, err = proc.communicate(timeout=30)
                pytest.fail(f"worker did not start: {line!r}\n{err}")

    def release(self, timeout: float = 90.0) -> list[str]:
        """Lets every worker go at once; returns each one's output (fails on an error)."""
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outputs = []
        for proc in self.procs:
            out, err = proc.communicate(timeout=timeout)
            assert proc.returncode == 0, f"worker failed ({proc.returncode}):\n{err}"
            outputs.append(out)
        return outputs

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()


@pytest.fixture
def worker_pool() -> Iterator[WorkerPool]:
    """Helper processes on the test's database; any left running are killed."""
    pool = WorkerPool()
    yield pool
    pool.stop()

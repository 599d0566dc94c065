"""Shared fixtures: every test runs with a clean environment and private sockets."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.pids import live_children

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
COMPAT_CONFIGS = REPO.parent / "shared" / "compat-configs"

pytest_plugins = ["tests.support.fixtures", "tests.support.browser"]

# A suite started in the background of a non-interactive shell (`pytest &` in a script)
# inherits SIGINT ignored, and passes it on to every process it starts: the tests that
# stop a machine or a monitor with SIGINT, as Ctrl-C does, would wait on it forever.
# Processes started from here get the default back.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _clean_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No STATEMACHINE_* (nor OpenTelemetry's OTEL_*) variable leaks in; sockets go to a
    per-test private directory."""
    for key in list(os.environ):
        if key.startswith(("STATEMACHINE_", "OTEL_")):
            monkeypatch.delenv(key)
    # Unix socket paths are limited to ~107 bytes: keep the directory short.
    socket_dir = Path(tmp_path_factory.mktemp("s", numbered=True))
    monkeypatch.setenv("STATEMACHINE_SOCKET_DIR", str(socket_dir))
    # The store: per test, never data/pipeline.db in the checkout.
    monkeypatch.setenv("STATEMACHINE_DB", str(socket_dir / "pipeline.db"))
    # Parsed-config cache: per test, never the user's ~/.cache.
    monkeypatch.setenv("STATEMACHINE_CACHE_DIR", str(socket_dir / "cache"))


@pytest.fixture
def compat_config() -> Callable[[str], Path]:
    """Path of a config from ../shared/compat-configs (skips when the checkout lacks it)."""

    def get(name: str) -> Path:
        path = COMPAT_CONFIGS / name
        if not path.exists():
            pytest.skip(f"{path} not found: put ../shared beside the checkout")
        return path

    return get


@pytest.fixture(autouse=True)
def _no_leaked_processes() -> Iterator[None]:
    """Fail a test that leaves a child process running (a machine, a bash action...)."""
    if not os.path.isdir("/proc"):
        yield
        return
    before = live_children()
    yield
    deadline = time.monotonic() + 5.0
    leaked = live_children() - before
    while leaked and time.monotonic() < deadline:  # let exiting processes finish exiting
        time.sleep(0.05)
        leaked = live_children() - before
    for pid in leaked:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert not leaked, f"the test left child processes running: {sorted(leaked)}"

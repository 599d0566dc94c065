"""The real ``statemachine-ui`` and real machine processes for the browser tests."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.files import create_store
from tests.support.processes import MachineProcess, console_script

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SERVING = re.compile(r"serving http://(?P<host>[^/]+):(?P<port>\d+)/")
#: How long the page may take to show what a test waits for, in milliseconds.
PAGE_TIMEOUT_MS = 15_000


class Monitor:
    """One ``statemachine-ui --allow-control [options]`` in the test's directory, restartable."""

    def __init__(self, project: Path, *options: str) -> None:
        self.project = project
        self.options = options
        self.port = 0
        self.process: MachineProcess | None = None
        self.stopped: list[MachineProcess] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> None:
        """Start it (on the port it had before, if any) and wait until it serves."""
        argv = console_script("statemachine-ui")
        assert argv is not None, "statemachine-ui is not installed beside this Python"
        create_store()  # the UI shows a store, it never creates one
        self.process = MachineProcess(
            [
                *argv,
                *("--port", str(self.port), "--project-root", self.project, "--allow-control"),
                *self.options,
            ],
            cwd=self.project,
        )
        match = SERVING.search(self.process.expect(SERVING.pattern))
        assert match is not None
        self.port = int(match["port"])

    def stop(self) -> None:
        """SIGTERM, as an operator restarting it would."""
        assert self.process is not None
        assert self.process.stop() == 0, self.process.stderr
        self.stopped.append(self.process)
        self.process = None

    def close(self) -> None:
        for process in [*self.stopped, *([self.process] if self.process else [])]:
            process.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The test's directory with the simple_worker example in it."""
    shutil.copy(EXAMPLES / "simple_worker" / "simple_worker.yaml", tmp_path)
    return tmp_path


@pytest.fixture
def monitor(project: Path) -> Iterator[Monitor]:
    server = Monitor(project)
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def expect_timeout() -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=PAGE_TIMEOUT_MS)


@pytest.fixture
def shot(page: object) -> Callable[[str], Path]:
    """``shot(name)`` saves a full-page screenshot under the test's tmp dir."""

    def take(name: str) -> Path:
        path: Path = page.screenshot_dir / f"{name}.png"  # type: ignore[attr-defined]
        page.screenshot(path=str(path))  # type: ignore[attr-defined]
        return path

    return take

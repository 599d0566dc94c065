"""Machines on another host, seen through PostgreSQL: the page says one is dead once its
heartbeats stop, within 15 s of its death.

The other host is real as far as the engine can tell: the machine runs in a UTS
namespace of its own (``unshare --uts``) under another host name, so its record says
``far-host`` and its pid cannot be checked from here; only its heartbeats tell.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.postgres import fresh_schema
from tests.support.processes import STATEMACHINE, MachineProcess, moved

from .conftest import Monitor

pytestmark = pytest.mark.usefixtures("expect_timeout")

OTHER_HOST = "far-host"
#: Runs the rest of its arguments under the host name OTHER_HOST.
ON_OTHER_HOST = ["unshare", "--uts", "sh", "-c", f'hostname {OTHER_HOST} && exec "$@"', "sh"]


def other_hosts_can_be_made() -> str | None:
    """Why a UTS namespace cannot be made here (None: it can)."""
    try:
        probe = subprocess.run(
            [*ON_OTHER_HOST, "hostname"], capture_output=True, text=True, timeout=10
        )
    except FileNotFoundError:
        return "unshare (util-linux) is not installed"
    if probe.returncode != 0 or probe.stdout.strip() != OTHER_HOST:
        return f"cannot make a UTS namespace here (needs root): {probe.stderr.strip()}"
    return None


@pytest.fixture
def store_url() -> Iterator[str]:
    reason = other_hosts_can_be_made()
    if reason is not None:
        pytest.skip(f"{reason}; run the browser tests as root to enable this one")
    with fresh_schema() as url:
        yield url


def test_a_machine_on_another_host_is_dead_once_its_heartbeats_stop(
    page: Page,
    project: Path,
    store_url: str,
    statemachine: Callable[..., MachineProcess],
    shot: Callable[[str], Path],
) -> None:
    monitor = Monitor(project, "--db", store_url)
    try:
        monitor.start()
        far = statemachine(
            "simple_worker.yaml",
            *("--machine-name", "far", "--db", store_url),
            argv=[*ON_OTHER_HOST, *STATEMACHINE],
        )
        far.expect(moved("far", None, "start", "waiting"))
        page.goto(monitor.url)
        tab = page.locator('.tab[data-tab="m:far"]')
        expect(tab).to_have_attribute("data-status", "running")
        expect(page.locator("#machine-header")).to_contain_text(OTHER_HOST)

        far.kill()
        killed = time.monotonic()
        # Three missed heartbeats (12 s), then the server's next liveness pass (3 s).
        expect(tab).to_have_attribute("data-status", "dead", timeout=20_000)
        print(f"far shown dead {time.monotonic() - killed:.1f} s after its kill")
        expect(page.locator('.count-filter[data-health="dead"]')).to_have_text("1 dead")
        expect(page.locator("#machine-header .problem")).to_contain_text("process dead since")
        expect(page.locator("#timeline .dead-note")).to_contain_text("process dead since")
        waiting = page.locator('svg.sm-diagram g.node[id*="-state-s_waiting-"]')
        expect(waiting).to_have_class(re.compile(r"\bsm-dead\b"))
        expect(page.locator("svg.sm-diagram .sm-current")).to_have_count(0)
        shot("remote-dead")
    finally:
        monitor.close()

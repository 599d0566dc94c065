"""``/api/series`` on PostgreSQL: the known workload of tests/monitoring/test_metrics.py
(machines on two hosts, the server on a third) counted live, then by a server started
afterwards from history alone (the back-fill reads are SQL of their own per dialect)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.monitoring.conftest import UI
from tests.monitoring.test_metrics import DB_CLI, Workload, run_known_workload
from tests.support.processes import MachineProcess

from .conftest import Host

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Unix processes")

SERVING = r"serving http://127\.0\.0\.1:(\d+)/"
SERIES = ("--series-interval", "0.5", "--series-window", "120")


def totals_when(url: str, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The series' totals once ``predicate`` holds (a sample comes every 0.5 s and the
    history reads lag 2 s on PostgreSQL: nothing tells a client when, so it asks again)."""
    deadline = time.monotonic() + 30
    while True:
        found: dict[str, Any] = httpx.get(f"{url}/api/series", timeout=15).json()
        if found["times"] and predicate(found):
            return found
        assert time.monotonic() < deadline, f"not within 30 s: {found['totals']}"
        time.sleep(0.25)


async def test_series_count_a_known_workload_live_and_from_history(
    tmp_path: Path, hosts: Callable[[str], Host], url: str
) -> None:
    a, b, monitor_host = hosts("a"), hosts("b"), hosts("c")

    def ui() -> str:
        found = re.search(
            SERVING, monitor_host.run("--port", "0", *SERIES, argv=UI).expect(SERVING)
        )
        assert found is not None
        return f"http://127.0.0.1:{found.group(1)}"

    def machine(config: Path, name: str) -> MachineProcess:
        return (b if name == "w2" else a).run(config, "--machine-name", name)

    def db_cli(*args: str) -> subprocess.CompletedProcess[str]:
        monitor_host.root.mkdir(parents=True, exist_ok=True)
        return subprocess.run(
            [*DB_CLI, *args], cwd=monitor_host.root, env=monitor_host.env,
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    server, _ = await run_known_workload(tmp_path, Workload(url, machine, ui, db_cli))
    ended = {"completed": 5, "failed": 1}  # five runs completed, one died
    live = totals_when(server, lambda s: s["totals"]["failed"] == 1)
    assert {name: live["totals"][name] for name in ended} == ended
    queue = live["queues"]["render"]
    assert (queue["pending"][-1], queue["consumers"][-1]) == (0, 2)
    assert {state: n[-1] for state, n in live["states"].items()} == {"waiting": 2}

    again = totals_when(ui(), lambda s: s["backfilled"])
    assert {name: again["totals"][name] for name in ended} == ended

"""``/metrics`` on PostgreSQL: the known workload's exact values, its machines on two
hosts and the server on a third (the history and action reads are SQL of their own per
dialect)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.monitoring.conftest import UI
from tests.monitoring.test_metrics import (
    DB_CLI,
    Workload,
    check_known_workload,
    run_known_workload,
)
from tests.support.processes import MachineProcess

from .conftest import Host

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Unix processes")

SERVING = r"serving http://127\.0\.0\.1:(\d+)/"


async def test_metrics_hold_exactly_what_a_known_workload_did(
    tmp_path: Path, hosts: Callable[[str], Host], url: str
) -> None:
    a, b, monitor_host = hosts("a"), hosts("b"), hosts("c")

    def ui() -> str:
        found = re.search(SERVING, monitor_host.run("--port", "0", argv=UI).expect(SERVING))
        assert found is not None
        return f"http://127.0.0.1:{found.group(1)}"

    def machine(config: Path, name: str) -> MachineProcess:
        # The workers on two hosts, the holder on the first.
        host = b if name == "w2" else a
        return host.run(config, "--machine-name", name)

    def db_cli(*args: str) -> subprocess.CompletedProcess[str]:
        monitor_host.root.mkdir(parents=True, exist_ok=True)
        return subprocess.run(
            [*DB_CLI, *args],
            cwd=monitor_host.root,
            env=monitor_host.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    workload = Workload(url, machine=machine, ui=ui, db_cli=db_cli)
    _, found = await run_known_workload(tmp_path, workload)
    check_known_workload(found)

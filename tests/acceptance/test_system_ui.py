"""``statemachine-system up`` with ``ui:``: the diagrams drawn, ``statemachine-ui`` run
beside the machines and knowing the system, brought down with it."""

from __future__ import annotations

import json
import re
import textwrap
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.test_system_cli import SYSTEM, system, system_status
from tests.support.pids import Reaper
from tests.support.processes import DEADLINE, MachineProcess
from tests.support.system_configs import WAITER

MANIFEST = """
name: shown
ui: {port: 0}
machines:
  controller: {config: config/waiter.yaml}
  worker: {config: config/waiter.yaml, instances: 2, depends_on: controller}
  task: {config: config/task.yaml, start: false}
"""


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "waiter.yaml").write_text(textwrap.dedent(WAITER))
    (tmp_path / "config" / "task.yaml").write_text(textwrap.dedent(WAITER))
    (tmp_path / "statemachine-project.yaml").write_text(textwrap.dedent(MANIFEST))
    try:
        yield tmp_path
    finally:
        system("down", "--grace", "2", cwd=tmp_path)


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=DEADLINE) as response:
        assert response.status == 200
        return json.loads(response.read())


def _poll(predicate: Callable[[], object], what: str) -> None:
    """Until ``predicate`` holds (no process of the test writes lines to wake on)."""
    deadline = time.monotonic() + 2 * DEADLINE
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {2 * DEADLINE}s")
        time.sleep(0.1)


def _machines(url: str) -> dict[str, dict[str, Any]]:
    return {machine["name"]: machine for machine in _get(url + "api/machines")}


def test_up_runs_the_ui_beside_the_machines_and_down_stops_it(
    project: Path, reaper: Reaper
) -> None:
    code, out, err = system("up", "-d", cwd=project)
    assert code == 0, err
    # Every config's diagrams, drawn where the UI reads them (a config not started too).
    for stem in ("waiter", "task"):
        assert (project / "docs" / "fsm-diagrams" / stem / "main.mermaid").is_file()
    _poll(lambda: system_status(project)["machines"][-1]["state"], "the UI serving")
    rows = {row["machine"]: row for row in system_status(project)["machines"]}
    ui = rows["statemachine-ui"]
    assert ui["status"] == "running"
    url = ui["state"]
    assert url.startswith("http://127.0.0.1:")
    watched = reaper.watch(*{row["pid"] for row in rows.values()})
    assert _get(url + "health")["status"] == "ok"
    machines = _machines(url)
    assert sorted(machines) == ["controller", "worker_001", "worker_002"]
    assert all(m["expected"] and m["restarts"] == 0 for m in machines.values())
    # /metrics comes with the UI (the manifest could say `ui: {metrics: false}`).
    with urllib.request.urlopen(url + "metrics", timeout=DEADLINE) as response:
        assert 'statemachine_machines{config="waiter"' in response.read().decode()

    code, out, err = system("restart", "worker", cwd=project)
    assert code == 0, err
    machines = _machines(url)
    assert machines["worker_001"]["restarts"] == 1
    assert machines["controller"]["restarts"] == 0
    code, out, _ = system("logs", "-n", "5", "statemachine-ui", cwd=project)
    assert code == 0
    assert "statemachine-ui | statemachine-ui: serving http://127.0.0.1:" in out

    # The UI restarts as a machine does (SIGTERM at once: it takes no stop event).
    code, out, err = system("restart", "statemachine-ui", cwd=project)
    assert code == 0, err
    assert "statemachine-ui: exited 0, restarted" in out
    (first_ui,) = [w for w in watched if w.pid == ui["pid"]]
    assert first_ui.exited()

    def serving_again() -> bool:
        row = {r["machine"]: r for r in system_status(project)["machines"]}["statemachine-ui"]
        return bool(row["pid"] != ui["pid"] and row["state"] and row["state"] != url)

    _poll(serving_again, "the UI serving again")
    rows = {row["machine"]: row for row in system_status(project)["machines"]}
    watched += reaper.watch(rows["statemachine-ui"]["pid"])
    assert _machines(rows["statemachine-ui"]["state"])["worker_001"]["restarts"] == 1

    code, out, _ = system("down", cwd=project)
    assert (code, out.strip()) == (0, "statemachine-system: shown is down")
    assert all(process.exited() for process in watched)
    assert "statemachine-ui: serving" in (project / "logs" / "statemachine-ui.log").read_text()
    rows = {row["machine"]: row for row in system_status(project)["machines"]}
    assert rows["statemachine-ui"]["status"] == "not started"


def test_in_the_foreground_the_ui_lines_come_prefixed_and_sigterm_stops_it(
    project: Path, reaper: Reaper
) -> None:
    up = MachineProcess([*SYSTEM, "up"], cwd=project)
    try:
        up.expect("statemachine-system: shown is up")
        _poll(lambda: "statemachine-ui | statemachine-ui: serving http" in up.stdout, "UI line")
        found = re.search(r"statemachine-ui \| statemachine-ui: serving (http://\S+/)", up.stdout)
        assert found is not None
        assert _get(found.group(1) + "health")["status"] == "ok"
        rows = {row["machine"]: row for row in system_status(project)["machines"]}
        (ui,) = reaper.watch(rows["statemachine-ui"]["pid"])
        assert up.stop() == 0
    finally:
        up.close()
    assert ui.exited()

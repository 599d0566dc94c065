"""A manifest's machines as real processes: started in order, restarted, brought down."""

from __future__ import annotations

import asyncio
import contextlib
import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from statemachine_engine.database import open_store
from statemachine_engine.errors import StateMachineError, SystemStartFailed
from statemachine_engine.settings import Settings
from statemachine_engine.system import RestartPolicy, load_manifest
from statemachine_engine.system._process import SupervisedProcess, Unit, command_for
from statemachine_engine.system._supervisor import Supervisor, select_units
from tests.support.pids import is_zombie
from tests.support.system_configs import BOOM, WAITER


def project(tmp_path: Path, manifest: str, **configs: str) -> Path:
    (tmp_path / "config").mkdir()
    for name, text in configs.items():
        (tmp_path / "config" / f"{name}.yaml").write_text(textwrap.dedent(text))
    path = tmp_path / "statemachine-project.yaml"
    path.write_text(textwrap.dedent(manifest))
    return path


async def _until(condition: Callable[[], bool]) -> None:
    """Return once ``condition`` holds (looked at every 20 ms; the caller bounds it)."""
    while not condition():  # noqa: ASYNC110 - a process has no event per state
        await asyncio.sleep(0.02)


async def test_a_crashing_machine_is_restarted_with_backoff_then_given_up(tmp_path: Path) -> None:
    manifest = load_manifest(
        project(
            tmp_path,
            """
            machines:
              boom:
                config: config/boom.yaml
                restart: {policy: on-failure, max_restarts: 2, backoff: 50ms, max_backoff: 100ms}
            """,
            boom=BOOM,
        )
    )
    spec = manifest.machines["boom"]
    assert spec.restart == RestartPolicy("on-failure", 2, 60.0, 0.05, 0.1)
    lines: list[str] = []
    unit = Unit("boom", (spec,))
    process = SupervisedProcess(
        unit,
        command_for(unit, manifest),
        env=Settings.load().child_environment(),
        cwd=tmp_path,
        sink=lambda _name, line: lines.append(line),
    )
    await asyncio.wait_for(process.run(), 60)
    assert process.state == "gave-up"
    assert process.restarts == 2
    assert process.pid is None
    said = [line for line in lines if line.startswith("--- ")]
    assert said == [
        "--- exited 1; restarting in 0.05s",
        "--- exited 1; restarting in 0.1s",
        "--- exited 1; crash loop: 2 restarts within 60s, given up",
    ]
    ended = "statemachine: error: ended in 'boom' right after an action failed"
    assert sum(line.startswith(ended) for line in lines) == 3


async def test_up_starts_in_dependency_order_and_down_leaves_nothing(tmp_path: Path) -> None:
    manifest = load_manifest(
        project(
            tmp_path,
            """
            name: demo
            env: {GREETING: hello}
            machines:
              worker: {config: config/waiter.yaml, instances: 2, depends_on: controller}
              controller: {config: config/waiter.yaml}
            """,
            waiter=WAITER,
        )
    )
    echoed: list[tuple[str, str]] = []
    supervisor = Supervisor(manifest, Settings.load(), echo=lambda n, t: echoed.append((n, t)))
    try:
        await asyncio.wait_for(supervisor.up(), 60)
        pids = {name: p.pid for name, p in supervisor.processes.items()}
        assert list(pids) == ["controller", "worker"]  # controller's wave first
        store = open_store()
        try:
            for name, unit in (
                ("controller", "controller"),
                ("worker_001", "worker"),
                ("worker_002", "worker"),
            ):
                record = await store.load_machine(name)
                assert record is not None
                assert (record.status, record.pid) == ("running", pids[unit])
        finally:
            await store.close()
    finally:
        said = await asyncio.wait_for(supervisor.down(grace=10), 60)
    assert said == ["controller: exited 0", "worker: exited 0"]  # ended by their stop event
    assert all(pid is not None and is_zombie(pid) for pid in pids.values())
    log = (tmp_path / "logs" / "worker.log").read_text()
    assert "worker_001 stops" in log
    assert "worker_002 stops" in log
    assert os.stat(tmp_path / "logs" / "worker.log").st_mode & 0o777 == 0o600
    assert ("controller", next(t for n, t in echoed if "controller stops" in t)) in echoed


async def test_a_machine_that_cannot_start_fails_up(tmp_path: Path) -> None:
    manifest = load_manifest(
        project(
            tmp_path,
            """
            machines:
              broken: {config: config/broken.yaml, restart: always}
            """,
            broken="initial_state: [not, a, name]\n",
        )
    )
    supervisor = Supervisor(manifest, Settings.load())
    try:
        with pytest.raises(
            SystemStartFailed, match=r"broken did not start: exited 1; restarting in 1s"
        ):
            await asyncio.wait_for(supervisor.up(), 60)
    finally:
        await supervisor.down(grace=5)
    assert "initial_state" in (tmp_path / "logs" / "broken.log").read_text()


async def test_a_stop_an_earlier_down_left_pending_does_not_stop_the_next_start(
    tmp_path: Path,
) -> None:
    from statemachine_engine.database._delivery import deliver
    from statemachine_engine.system._supervisor import STOP_EVENT, STOP_SOURCE

    manifest = load_manifest(
        project(tmp_path, "machines:\n  waiter: {config: config/waiter.yaml}\n", waiter=WAITER)
    )
    store = open_store()
    try:
        # What a machine busy in an action, then SIGTERMed, leaves in its inbox.
        await deliver(store, "waiter", STOP_EVENT, source=STOP_SOURCE)
        supervisor = Supervisor(manifest, Settings.load())
        try:
            await asyncio.wait_for(supervisor.up(), 60)
            record = await store.load_machine("waiter")
            events = await store.list_events(target="waiter")
        finally:
            await supervisor.down(grace=10)
    finally:
        await store.close()
    assert record is not None
    assert (record.status, record.current_state) == ("running", "waiting")
    assert [(e.event_type, e.status, e.reason) for e in events] == [
        ("stop", "dropped", "sent by an earlier statemachine-system down")
    ]


async def test_restart_stops_and_starts_again_a_running_and_a_given_up_process(
    tmp_path: Path,
) -> None:
    manifest = load_manifest(
        project(
            tmp_path,
            """
            machines:
              waiter: {config: config/waiter.yaml}
              boom: {config: config/boom.yaml, restart: {max_restarts: 0}}
            """,
            waiter=WAITER,
            boom=BOOM,
        )
    )
    supervisor = Supervisor(manifest, Settings.load())
    store = open_store()
    try:
        with contextlib.suppress(SystemStartFailed):  # unless it registered before it ended
            await asyncio.wait_for(supervisor.up(), 60)
        waiter, boom = supervisor.processes["waiter"], supervisor.processes["boom"]
        old = waiter.pid
        assert old is not None
        said = await asyncio.wait_for(supervisor.restart(["waiter"], grace=10), 60)
        assert said == [f"waiter: exited 0, restarted (pid {waiter.pid}, restarts 1)"]
        assert waiter.pid != old
        assert is_zombie(old)
        record = await store.load_machine("waiter")
        assert record is not None
        assert (record.status, record.pid, record.current_state) == (
            "running",
            waiter.pid,
            "waiting",
        )

        await asyncio.wait_for(_until(lambda: boom.state == "gave-up"), 60)
        (tmp_path / "config" / "boom.yaml").write_text(textwrap.dedent(WAITER))  # fixed
        said = await asyncio.wait_for(supervisor.restart(["boom"], grace=10), 60)
        assert said == [
            f"boom: exited 1; max_restarts is 0, given up, restarted (pid {boom.pid}, restarts 1)"
        ]
        assert (boom.state, boom.restarts) == ("running", 1)

        with pytest.raises(StateMachineError, match="not a process of this system: nope"):
            await supervisor.restart(["nope"])
    finally:
        await store.close()
        said = await asyncio.wait_for(supervisor.down(grace=10), 60)
    assert said == ["waiter: exited 0", "boom: exited 0"]
    log = (tmp_path / "logs" / "waiter.log").read_text()
    assert "--- exited 0; restarting, as asked" in log


async def test_restarting_a_member_of_an_in_process_group_restarts_the_group(
    tmp_path: Path,
) -> None:
    manifest = load_manifest(
        project(
            tmp_path,
            """
            machines:
              left: {config: config/left.yaml, in_process: pair}
              right: {config: config/right.yaml, in_process: pair}
            """,
            left=WAITER,
            right=WAITER,
        )
    )
    supervisor = Supervisor(manifest, Settings.load())
    try:
        await asyncio.wait_for(supervisor.up(), 60)
        pair = supervisor.processes["pair"]
        old = pair.pid
        units = select_units(manifest, ["right"])
        assert [unit.name for unit in units] == ["pair"]
        said = await asyncio.wait_for(supervisor.restart([u.name for u in units], grace=10), 60)
        assert said == [f"pair: exited 0, restarted (pid {pair.pid}, restarts 1)"]
        assert pair.pid != old
    finally:
        await asyncio.wait_for(supervisor.down(grace=10), 60)
    log = (tmp_path / "logs" / "pair.log").read_text()
    assert log.count("left stops") == 2
    assert log.count("right stops") == 2

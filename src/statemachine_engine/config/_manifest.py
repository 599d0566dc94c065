"""A system's manifest (``statemachine-project.yaml``) as one frozen model: the
system and each of its machines. :mod:`._manifest_reader` reads and checks one."""

from __future__ import annotations

import graphlib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from .model import Position

DEFAULT_MANIFEST = "statemachine-project.yaml"
RESTART_MODES = ("always", "on-failure", "no")
HOOKS = ("pre_start", "post_start", "pre_stop")
DEFAULT_LOG_DIR = "logs"
DEFAULT_LOG_BYTES = 10 * 1024 * 1024
DEFAULT_LOG_KEEP = 5
DEFAULT_UI_PORT = 3001


class RestartPolicy(NamedTuple):
    """When a machine's process that ended is started again.

    Attributes:
        mode: ``always``, ``on-failure`` (it exited non-zero or was killed) or ``no``.
        max_restarts: more restarts than this within :attr:`within` seconds is a crash
            loop: the supervisor gives the machine up.
        within: the crash-loop window, in seconds.
        backoff: the wait before the first restart, doubled for each next one.
        max_backoff: the longest wait between restarts.
    """

    mode: str = "on-failure"
    max_restarts: int = 5
    within: float = 60.0
    backoff: float = 1.0
    max_backoff: float = 30.0


class MachineSpec(NamedTuple):
    """One entry under ``machines:``.

    Attributes:
        name: the machine's name (its instances are ``<name>_001``... when
            :attr:`instances` is more than one).
        config: the machine config, absolute.
        instances: how many machines of this config run (in one process).
        actions_dir: where its custom actions live, absolute.
        initial_context: its context at its first start.
        restart: its restart policy.
        start: False for a config others start (``start_fsm``): checked, not started.
        in_process: machines naming the same group run in one process.
        depends_on: machines started (and registered) before this one.
        position: where the entry is written.
    """

    name: str
    config: Path
    instances: int = 1
    actions_dir: Path | None = None
    initial_context: Mapping[str, Any] = MappingProxyType({})
    restart: RestartPolicy = RestartPolicy()
    start: bool = True
    in_process: str | None = None
    depends_on: tuple[str, ...] = ()
    position: Position = Position(None, None, None)


class UiSpec(NamedTuple):
    """``ui:``: run ``statemachine-ui`` with the system."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_UI_PORT
    allow_control: bool = False
    #: serve ``/metrics`` for Prometheus (docs/observability.md).
    metrics: bool = True


class LogSpec(NamedTuple):
    """``logs:``: one file per machine in :attr:`directory`, rotated past
    :attr:`max_bytes`, keeping :attr:`keep` old files."""

    directory: Path
    max_bytes: int = DEFAULT_LOG_BYTES
    keep: int = DEFAULT_LOG_KEEP


class Manifest(NamedTuple):
    """A system of machines.

    Attributes:
        path: the manifest file, absolute; relative paths in it are read from its
            directory (:attr:`root`).
        name: the system's name.
        store: the store's location (an absolute path or a URL); None: the default.
        env: variables every machine's actions see.
        ui: the monitoring UI to run with the system, if any.
        logs: where the machines' log files go.
        hooks: shell commands run before start, after start and before stop.
        machines: the machines, in file order.
    """

    path: Path
    name: str
    store: str | None
    env: Mapping[str, str]
    ui: UiSpec | None
    logs: LogSpec
    hooks: Mapping[str, str]
    machines: Mapping[str, MachineSpec]

    @property
    def root(self) -> Path:
        return self.path.parent

    def start_order(self) -> list[tuple[MachineSpec, ...]]:
        """The machines to start, in waves: each wave's dependencies are all in earlier
        waves (file order within a wave)."""
        started = [spec for spec in self.machines.values() if spec.start]
        sorter = graphlib.TopologicalSorter({spec.name: spec.depends_on for spec in started})
        sorter.prepare()
        order = list(self.machines)
        waves = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready(), key=order.index)
            waves.append(tuple(self.machines[name] for name in ready))
            sorter.done(*ready)
        return waves

"""Many machines in one process and one event loop.

A :class:`MachineHost` runs any number of machines — thousands of instances of one
template, or a few different configs — side by side as asyncio tasks. They share what a
process has once: the store connection, one control socket (each machine's control path
links to it, see :mod:`..messaging._routing`), the realtime stream, parsed configs and
transition tables, and a single heartbeat statement for all of them. Events between
machines of one host are still committed to the store first, then wake their target by a
plain call.

Example::

    async with MachineHost() as host:
        for n in range(1000):
            host.spawn("worker.yaml", machine_name=f"worker_{n:04d}")
        await host.wait()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config._transitions import TransitionTable
from ..config.loader import load_config
from ..config.model import MachineConfig
from ..errors import MachineFailed, StateMachineError, StoreError, StoreReplaced
from ..settings import Settings
from ._launches import config_stem
from ._preflight import check_before_start
from ._publisher import RealtimePublisher
from ._start_burst import StartBurst
from .action_loader import ActionLoader

if TYPE_CHECKING:
    from types import TracebackType

    from ..database.store import Store
    from ..messaging._control import ControlMessage, ControlSocket
    from ..messaging._realtime import RealtimeStream
    from ..messaging._routing import HostControlSocket
    from ._registrations import Registrations
    from .engine import MachineObserver, StateMachineEngine

logger = logging.getLogger("statemachine_engine.host")

#: How often the host records that its machines are alive (one row for all of them), on a
#: store of one host; one that spans hosts is beaten every SPANNING_HEARTBEAT_SECONDS.
HOST_HEARTBEAT_SECONDS = 20.0


class MachineHost:
    """Runs machines in this process; use as ``async with`` (or :meth:`open`/:meth:`close`).

    Args:
        store: the store the machines share (default: opened from ``db``).
        db: a database location when no store is given (default: the configured one).
        durable: False runs the machines in memory (no store, no resuming).
        control: serve control messages, so that other processes reach the machines.
        control_socket_prefix: ``--control-socket-prefix`` for the machines' control paths.
        settings: the process's settings (default: from the environment); ``db`` and
            ``control_socket_prefix``, when given, override theirs.
        event_socket_path: the monitor's event socket (default: ``events.sock`` in the
            private socket directory); None keeps the default, False publishes nothing.
    """

    def __init__(
        self,
        *,
        store: Store | None = None,
        db: str | None = None,
        durable: bool = True,
        control: bool = True,
        control_socket_prefix: str | None = None,
        event_socket_path: str | os.PathLike[str] | bool | None = None,
        settings: Settings | None = None,
    ) -> None:
        #: What the machines and whatever they start work with.
        self.settings = (settings or Settings.load()).with_flags(
            db=db, control_socket_prefix=control_socket_prefix
        )
        #: The store whose socket directory the sockets go to (the store's own
        #: location once open: a PostgreSQL URL without its password).
        self._location = self.settings.db
        self._store = store
        self._owns_store = store is None and durable
        self._durable = durable
        self._serve_control = control
        self._event_socket_path = event_socket_path
        self._machines: dict[str, StateMachineEngine] = {}
        self._tasks: dict[str, asyncio.Task[str]] = {}
        self._dedicated: dict[str, ControlSocket] = {}
        self._results: dict[str, str] = {}
        self._failures: dict[str, BaseException] = {}
        self._loaders: dict[str | None, ActionLoader] = {}
        self._configs: dict[tuple[str, int], MachineConfig] = {}
        self._tables: dict[int, tuple[MachineConfig, TransitionTable]] = {}
        #: Each config's file stem (its realtime ``config_type``), beside its table.
        self._stems: dict[int, str | None] = {}
        self._deliveries: set[asyncio.Task[None]] = set()
        self._control: HostControlSocket | None = None
        self._stream: RealtimeStream | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._burst = StartBurst()
        #: Registers the names of machines starting together (None: one by one).
        self._registrations: Registrations | None = None
        #: Whether the host's heartbeat row was written (and is removed at the end).
        self._beaten = False
        self._opened = False

    # -- lifecycle -------------------------------------------------------------

    async def open(self) -> MachineHost:
        """Open the shared resources: store, control socket, realtime stream, heartbeat."""
        if self._opened:
            return self
        from ..messaging._realtime import RealtimeStream, default_event_socket_path

        if self._event_socket_path not in (None, True, False):
            from .._files import check_event_socket_directory

            check_event_socket_directory(Path(str(self._event_socket_path)))
        if self._owns_store:
            from ..database import open_store

            self._store = open_store(settings=self.settings)
        if self._store is not None:
            self._location = self._store.location
            if self._durable and self._store.registers_together:
                from ._registrations import Registrations

                self._registrations = Registrations(self._store)
        if self._event_socket_path is not False:
            path = (
                default_event_socket_path(self.settings, self._location)
                if self._event_socket_path in (None, True)
                else Path(str(self._event_socket_path))
            )
            self._stream = RealtimeStream(
                path,
                self._store if self._durable else None,
                older_than=self.settings.realtime_retention,
                keep=self.settings.realtime_max_events,
            )
        if self._durable:
            self._heartbeat = asyncio.create_task(self._beat(), name="host:heartbeat")
        self._opened = True
        return self

    async def close(self) -> None:
        """Stop every machine still running, wait for them, release everything."""
        if not self._opened:
            return
        self.stop()
        await self.wait()
        self._burst.close()
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.wait([self._heartbeat])
            if self._beaten and self._store is not None:
                # Its machines have ended: their records no longer read it. A store that is
                # gone or refuses keeps the row, which goes stale like any heartbeat.
                with contextlib.suppress(StoreError):
                    await self._store.forget_process_heartbeat(os.getpid(), socket.gethostname())
        if self._deliveries:
            await asyncio.wait(self._deliveries)
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._stream is not None:
            await self._stream.close()
        if self._owns_store and self._store is not None:
            await self._store.close()
        from ..actions._fork_client import close_fork_server

        await close_fork_server()
        self._opened = False

    async def __aenter__(self) -> MachineHost:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # -- machines --------------------------------------------------------------

    @property
    def machines(self) -> Mapping[str, StateMachineEngine]:
        """The machines running now, by name."""
        return self._machines

    @property
    def results(self) -> Mapping[str, str]:
        """Machines that ended, with the state each ended in."""
        return self._results

    @property
    def failures(self) -> Mapping[str, BaseException]:
        """Machines that failed, with the error: an internal error, a refused resume
        (:class:`~statemachine_engine.errors.UnknownStateError`), or an end that counts as a
        failure (``engine.failure``: a dead end, an unhandled error; those machines are
        in :attr:`results` too)."""
        return self._failures

    def spawn(
        self,
        config: MachineConfig | str | os.PathLike[str],
        *,
        machine_name: str | None = None,
        initial_context: Mapping[str, Any] | None = None,
        actions_dir: str | os.PathLike[str] | None = None,
        fresh: bool = False,
        observers: Iterable[MachineObserver] = (),
        dedicated_socket: bool = False,
        handed_jobs: Iterable[tuple[str, int] | tuple[str, int, float]] = (),
    ) -> StateMachineEngine:
        """Start a machine in this process; returns its engine (already scheduled to run).

        Args:
            config: a loaded config or the path of one (parsed once per host).
            machine_name: the instance's name (default as for one machine).
            initial_context: keys seeded into its context.
            actions_dir: directory of custom actions for this config.
            fresh: start over instead of resuming the name's previous run.
            observers: more observers besides the realtime stream.
            dedicated_socket: serve this machine through a control socket of its own
                (what a one-machine process does) instead of the host's shared one.
            handed_jobs: ``(job_id, attempt)`` or ``(job_id, attempt, lease_seconds)``
                of jobs handed to it by the machine starting it (see
                :meth:`StateMachineEngine.hand_over_job`).

        Raises:
            MachineAlreadyRunning: this or another live process already runs the name.
            ConfigRefused: ``config`` is a path whose lint finds a state the machine could
                never leave (a config object is not linted; the engine still ends a
                machine that enters such a state).
        """
        # (From modules, not packages: an import of a package's module runs Python code
        # at every call, thousands of times here.)
        from ..database._delivery import is_local, register_local
        from ..messaging._control import ControlSocket, already_running
        from .engine import StateMachineEngine

        if not self._opened:
            raise StateMachineError("the host is not open: use 'async with MachineHost()'")
        loader = self._loader(actions_dir)
        if not isinstance(config, MachineConfig):
            config = self._config(config, loader)
        table = self._table(config)
        engine = StateMachineEngine(
            config,
            machine_name=machine_name,
            action_loader=loader,
            initial_context=initial_context,
            store=self._store if self._durable else None,
            fresh=fresh,
            transition_table=table,
            own_heartbeat=False,
            handed_jobs=handed_jobs,
            start_machine=self.spawn,
            settings=self.settings,
        )
        name = engine.machine_name
        if name in self._machines or is_local(name):
            raise already_running(name, os.getpid())
        if self._serve_control:
            if dedicated_socket:
                dedicated = ControlSocket(
                    self.settings.control_socket_path(name, location=self._location),
                    name,
                    lambda message: self._on_control(name, message),
                )
                dedicated.open()
                self._dedicated[name] = dedicated
                engine.wake_address = str(dedicated.path)
            else:
                routed = self._routed()
                routed.link(name)
                engine.wake_address = str(routed.path)
        if self._stream is not None:
            engine.observers.append(RealtimePublisher(name, self._stream))
        engine.observers.extend(observers)
        engine.registrations = self._registrations
        self._burst.starting()
        engine.on_started = self._burst.started
        self._machines[name] = engine
        register_local(name, engine.request_pull)
        self._idle.clear()
        task = asyncio.create_task(self._run(engine), name=f"machine:{name}")
        self._tasks[name] = task
        return engine

    def stop(self, machine_name: str | None = None) -> None:
        """Ask one machine (or all) to stop; :meth:`wait` for them to end."""
        if machine_name is None:
            engines = list(self._machines.values())
        else:
            engines = [self._machines[machine_name]] if machine_name in self._machines else []
        for engine in engines:
            engine.request_stop()

    async def wait(self, machine_name: str | None = None) -> dict[str, str]:
        """Wait until one machine (or every machine) has ended; returns the final states."""
        if machine_name is not None:
            task = self._tasks.get(machine_name)
            if task is not None:
                await asyncio.wait([task])
            return {k: v for k, v in self._results.items() if k == machine_name}
        await self._idle.wait()
        return dict(self._results)

    # -- inside ----------------------------------------------------------------

    async def _run(self, engine: StateMachineEngine) -> str:
        from ..database._delivery import unregister_local

        name = engine.machine_name
        if self._stream is not None:
            # Sent as its task starts, not from spawn(): a host spawning thousands links
            # their control paths meanwhile, and each change to the socket directory
            # makes a send look again for the monitor's socket there.
            publisher = engine.observers[0]
            assert isinstance(publisher, RealtimePublisher)
            publisher.publish(
                "machine_registered",
                {
                    "config_type": self._stems.get(id(engine.config)),
                    "config_name": engine.config.name,
                    "pid": os.getpid(),
                    "timestamp": time.time(),
                },
                checked=True,  # names, a pid and a clock reading
            )
        try:
            final = await engine.run()
            self._results[name] = final
            if engine.failure is not None:
                self._failures[name] = engine.failure
            return final
        except MachineFailed as exc:  # the engine has said why
            self._failures[name] = exc
            return engine.state or ""
        except Exception as exc:
            self._failures[name] = exc
            logger.error(
                "[%s] stopped%s: %s",
                name,
                "" if isinstance(exc, StateMachineError) else " on an internal error",
                exc,
                extra={"action": "machine_failed", "machine": name},
            )
            return engine.state or ""
        finally:
            unregister_local(name)
            dedicated = self._dedicated.pop(name, None)
            if dedicated is not None:
                dedicated.close()
            elif self._control is not None:
                self._control.unlink(name)
            del self._machines[name]
            del self._tasks[name]
            if not self._machines:
                self._idle.set()

    def _routed(self) -> HostControlSocket:
        if self._control is None:
            from ..messaging._routing import HostControlSocket

            self._control = HostControlSocket(self._on_control, self.settings, self._location)
            self._control.open()
        return self._control

    def _on_control(self, machine_name: str, message: ControlMessage) -> None:
        from ..messaging._control import WAKE_EVENT

        engine = self._machines.get(machine_name)
        if engine is None:
            return
        if message.type == WAKE_EVENT:
            engine.request_pull()
            return
        source = message.source or "control"
        self._track(
            engine.deliver(message.type, message.payload, job_id=message.job_id, source=source)
        )

    def _track(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _beat(self) -> None:
        assert self._store is not None
        from ..database._names import SPANNING_HEARTBEAT_SECONDS

        pid, host = os.getpid(), socket.gethostname()
        period = SPANNING_HEARTBEAT_SECONDS if self._store.spans_hosts else HOST_HEARTBEAT_SECONDS
        while True:
            await asyncio.sleep(period)
            if not self._machines:
                continue
            try:
                await self._store.heartbeat_process(pid, host)
                self._beaten = True
            except StoreReplaced as exc:  # nothing the machines write now would be kept
                for engine in list(self._machines.values()):
                    engine.abort(exc)
                continue
            except Exception:  # a heartbeat must never take the machines down
                logger.warning("host heartbeat failed", exc_info=True)

    def _loader(self, actions_dir: str | os.PathLike[str] | None) -> ActionLoader:
        key = None if actions_dir is None else os.path.abspath(actions_dir)
        loader = self._loaders.get(key)
        if loader is None:
            loader = self._loaders[key] = ActionLoader(key)
        return loader

    def _config(self, path: str | os.PathLike[str], loader: ActionLoader) -> MachineConfig:
        key = (os.path.abspath(path), id(loader))
        config = self._configs.get(key)
        if config is None:
            config = load_config(
                key[0], is_known_action=loader.is_known, known_actions=loader.known_types
            )
            check_before_start([config], loader)  # warnings once per host; errors refuse
            loader.preload({spec.type for specs in config.actions.values() for spec in specs})
            self._configs[key] = config
        return config

    def _table(self, config: MachineConfig) -> TransitionTable:
        cached = self._tables.get(id(config))
        if cached is None or cached[0] is not config:
            cached = self._tables[id(config)] = (config, TransitionTable.build(config.transitions))
            self._stems[id(config)] = config_stem(config)
        return cached[1]

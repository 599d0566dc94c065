"""Engines built from YAML text in the test's own process; none outlives its test."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path
from types import TracebackType
from typing import Any

from statemachine_engine.config.loader import config_from_text
from statemachine_engine.core.action_loader import ActionLoader
from statemachine_engine.core.engine import StateMachineEngine

from .recorder import Recorder

#: A machine bouncing between two states on ``ping`` until ``stop``: the steps of a
#: drained backlog.
PINGPONG = """
name: pingpong
initial_state: a
transitions:
  - {from: a, to: b, event: ping}
  - {from: b, to: a, event: ping}
  - {from: "*", to: stopped, event: stop}
"""

#: How long a machine may take to run to its end, in seconds.
RUN_TIMEOUT = 10.0


class Machines:
    """Builds engines, each with a :class:`Recorder`, and stops the ones it started.

    Args:
        actions_dir: where custom actions live; read at the first build, so a test may
            write modules there first. A directory that does not exist means none.
        **defaults: keyword arguments of every engine (``store=``, ``machine_name=``...),
            which a build's own keyword arguments override.
    """

    def __init__(self, actions_dir: Path | None = None, **defaults: Any) -> None:
        self.actions_dir = actions_dir
        self.defaults = defaults
        self._loader: ActionLoader | None = None
        self.running: list[tuple[StateMachineEngine, asyncio.Task[str]]] = []

    @property
    def loader(self) -> ActionLoader:
        if self._loader is None:
            directory = self.actions_dir
            self._loader = ActionLoader(directory if directory and directory.is_dir() else None)
        return self._loader

    def build(self, text: str, **kwargs: Any) -> tuple[StateMachineEngine, Recorder]:
        """An engine for the YAML ``text`` (dedented), not started."""
        config = config_from_text(
            textwrap.dedent(text),
            is_known_action=self.loader.is_known,
            known_actions=self.loader.known_types,
        )
        recorder = Recorder()
        engine = StateMachineEngine(
            config,
            action_loader=self.loader,
            observers=[recorder],
            **{**self.defaults, **kwargs},
        )
        return engine, recorder

    def start(
        self, text: str, **kwargs: Any
    ) -> tuple[StateMachineEngine, Recorder, asyncio.Task[str]]:
        """An engine for ``text``, running in a task."""
        engine, recorder = self.build(text, **kwargs)
        task = asyncio.create_task(engine.run())
        self.running.append((engine, task))
        return engine, recorder, task

    async def run(self, text: str, **kwargs: Any) -> tuple[StateMachineEngine, Recorder]:
        """An engine for ``text`` run to its end (within :data:`RUN_TIMEOUT`)."""
        engine, recorder = self.build(text, **kwargs)
        await run_to_end(engine)
        return engine, recorder

    async def stop(self, engine: StateMachineEngine) -> str:
        """Ask a started engine to stop; its final state."""
        [task] = [task for started, task in self.running if started is engine]
        engine.request_stop()
        return await finish(task)

    async def close(self) -> None:
        for engine, task in self.running:
            if not task.done():
                engine.request_stop()
        for _, task in self.running:
            if not task.done():
                try:
                    await asyncio.wait_for(task, RUN_TIMEOUT)
                except Exception:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
            elif not task.cancelled():
                task.exception()  # mark retrieved

    async def __aenter__(self) -> Machines:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


async def run_to_end(engine: StateMachineEngine) -> str:
    """Run ``engine`` to its end; its final state."""
    return await asyncio.wait_for(engine.run(), RUN_TIMEOUT)


async def finish(task: asyncio.Task[str]) -> str:
    """Await a started engine's end; its final state."""
    return await asyncio.wait_for(task, RUN_TIMEOUT)

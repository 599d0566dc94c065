"""``start_fsm``: start another machine, as a process of its own or in this process.

Options:
    yaml_path: the child's config.
    machine_name: the child's name (e.g. ``"worker_{job_id}"``).
    context_vars: context keys handed to the child as its initial context: ``name``,
        a path ``a.b.c`` (kept under its last part), or ``a.b as c``.
    additional_args: extra command-line arguments for the child (a list).
    actions_dir: the child's ``--actions-dir``.
    store_pid: when true, the child's pid is appended to the context list ``spawned_pids``.
    in_process: when true, the child runs in this process, beside this machine (cheap:
        no interpreter to start, ~10 KB a machine); ``additional_args`` do not apply.
    success: event once the child is started (default ``success``).
    error: event when the child cannot start, e.g. its name is taken (default ``error``).

A job this machine holds is handed over to the child when its id is among the values
``context_vars`` passes (``current_job.job_id as job_id``, the earlier implementation's
pattern): the child then holds the job's lease (of the same length) and completes or
fails it; this machine no longer completes it implicitly. If the job's lease ran out and
it was claimed again meanwhile, the child does not take it (attempts are checked) and
does not work on it. A child restarted after a crash is fenced like a claimer: it works
on the job again only if the job is still its own (docs/durability.md).

A child process is forked from the fork server (``statemachine_engine._fork_server``,
which has the engine loaded), else started with a fresh interpreter. It shares this
machine's store (``--db`` is inherited through ``STATEMACHINE_DB``), runs in its own
session (stopping this machine does not stop it),
writes its log to this machine's stderr, and is reaped when it ends. A child in this
process ends with the process: when this machine ends, the process waits for its
in-process children to end too.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from typing import Any, NamedTuple

from ...context.interpolation import MISSING, resolve_path
from ...errors import ActionError, StateMachineError
from .._fork_client import start_machine_process
from ..base import BaseAction, runtime_of, settings_of

#: Children still running, so that each is reaped when it ends.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _reap_when_done(process: subprocess.Popen[bytes]) -> None:
    """Collect ``process``'s exit status when it ends (no zombie left behind)."""
    try:
        pidfd = os.pidfd_open(process.pid)
    except (AttributeError, OSError):  # no pidfd: subprocess reaps it on a later Popen
        return
    loop = asyncio.get_running_loop()
    _CHILDREN[pidfd] = process

    def reap() -> None:
        loop.remove_reader(pidfd)
        os.close(pidfd)
        _CHILDREN.pop(pidfd).wait()

    loop.add_reader(pidfd, reap)


def _seconds(lease: float) -> str:
    """A lease length for the command line, exact (``30``, ``2.5``)."""
    return str(int(lease)) if float(lease).is_integer() else repr(float(lease))


def initial_context(spec: Any, context: dict[str, Any]) -> dict[str, Any]:
    """The child's initial context from ``context_vars``."""
    names = [spec] if isinstance(spec, str) else list(spec or [])
    chosen: dict[str, Any] = {}
    for entry in names:
        path, _, alias = str(entry).partition(" as ")
        path, alias = path.strip(), alias.strip()
        value = resolve_path(context, path)
        if value is not MISSING:
            chosen[alias or path.rsplit(".", 1)[-1]] = value
    return chosen


class _Child(NamedTuple):
    """The machine to start: its config, its name, its initial context and the jobs
    handed over to it (``(job_id, attempt, lease_seconds)``)."""

    yaml_path: str
    name: str
    seeded: dict[str, Any]
    handed: list[tuple[str, int, float]]


class StartFsmAction(BaseAction):
    """Spawn a machine process."""

    options = frozenset(
        {
            "actions_dir",
            "additional_args",
            "context_vars",
            "in_process",
            "machine_name",
            "store_pid",
            "yaml_path",
        }
    )

    default_success = "success"
    other_events = {}
    writes = frozenset({"spawned_pids"})

    async def execute(self, context: dict[str, Any]) -> str | None:
        yaml_path = self.get_config_value("yaml_path")
        name = self.get_config_value("machine_name")
        if not yaml_path or not name:
            raise ActionError("start_fsm needs 'yaml_path' and 'machine_name'")
        seeded = initial_context(self.get_config_value("context_vars"), context)
        handed = self._hand_over(seeded)
        child = _Child(str(yaml_path), str(name), seeded, handed)
        try:
            if self.get_config_value("in_process", False) is True:
                return self._start_here(child, context)
            return await self._start_process(child, context)
        except BaseException:
            self._take_back(handed)
            raise

    def _hand_over(self, seeded: dict[str, Any]) -> list[tuple[str, int, float]]:
        """Jobs this machine holds whose ids the child is given: their leases go to it."""
        runtime = self.runtime
        if runtime is None:
            return []
        handed = []
        for value in seeded.values():
            if isinstance(value, str):
                held = runtime.hand_over_job(value)
                if held is not None:
                    handed.append((value, *held))
        return handed

    def _take_back(self, handed: list[tuple[str, int, float]]) -> None:
        if self.runtime is not None:
            for job_id, attempt, lease in handed:
                self.runtime.take_back_job(job_id, attempt, lease)

    async def _start_process(self, child: _Child, context: dict[str, Any]) -> str | None:
        args = [child.yaml_path, "--machine-name", child.name]  # statemachine's arguments
        if child.seeded:
            args += ["--initial-context", json.dumps(child.seeded, default=str)]
        for job_id, attempt, lease in child.handed:
            args += ["--take-over-job", f"{job_id}@{attempt}:{_seconds(lease)}"]
        actions_dir = self.get_config_value("actions_dir")
        if actions_dir:
            args += ["--actions-dir", str(actions_dir)]
        extra = self.get_config_value("additional_args") or []
        args += [str(arg) for arg in ([extra] if isinstance(extra, str) else extra)]
        settings = settings_of(self)
        env = settings.child_environment()
        # Forked from the fork server, which has the engine loaded; else a fresh
        # interpreter. Not an asyncio subprocess: asyncio kills its children when its
        # loop closes, and a spawned machine must outlive the one that started it.
        pid = await start_machine_process(args, env) if settings.fork_server else None
        if pid is None:
            process = subprocess.Popen(  # noqa: ASYNC220 - see above; returns at once
                [sys.executable, "-m", "statemachine_engine", *args],
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=env,
            )
            _reap_when_done(process)
            pid = process.pid
        if self.get_config_value("store_pid", False) is True:
            context.setdefault("spawned_pids", []).append(pid)
        self.logger.info(
            "[%s] started %s (pid %d) from %s",
            context.get("machine_name", "?"),
            child.name,
            pid,
            child.yaml_path,
            extra={"action": "machine_spawned", "child": child.name, "pid": pid},
        )
        return self.success_event

    def _start_here(self, child: _Child, context: dict[str, Any]) -> str | None:
        runtime = runtime_of(self)
        if self.get_config_value("additional_args"):
            self.logger.warning(
                "[%s] start_fsm: additional_args do not apply to an in-process child",
                context.get("machine_name", "?"),
            )
        actions_dir = self.get_config_value("actions_dir")
        try:
            runtime.start_machine(
                child.yaml_path,
                machine_name=child.name,
                initial_context=child.seeded,
                actions_dir=str(actions_dir) if actions_dir else None,
                handed_jobs=child.handed,
            )
        except ActionError:
            raise  # not run by a host: a failure of the action itself
        except StateMachineError as exc:
            self._take_back(child.handed)
            context["last_error"] = str(exc)
            self.logger.error(
                "[%s] start_fsm: cannot start %s: %s",
                context.get("machine_name", "?"),
                child.name,
                exc,
            )
            return self.error_event
        self.logger.info(
            "[%s] started %s in this process from %s",
            context.get("machine_name", "?"),
            child.name,
            child.yaml_path,
            extra={"action": "machine_spawned", "child": child.name, "pid": os.getpid()},
        )
        return self.success_event

"""The base class of every action, builtin or user-written, and the door it goes through.

A config entry ``- type: my_thing`` runs ``MyThingAction`` from ``my_thing_action.py``
(found in ``--actions-dir`` first, then among the builtins). The class is instantiated
with the entry's options, interpolated from the context, each time the action runs::

    from statemachine_engine.actions import BaseAction

    class GreetAction(BaseAction):
        async def execute(self, context):
            name = context["event_data"]["payload"].get("name", "world")
            self.logger.info("hello %s", name)
            return self.get_config_value("success", "greeted")

``execute`` returns the name of the next event, or None to let the state's next action
run. Raising turns into the action's ``error`` event with the message in
``context["last_error"]``.

An action reaches the machine running it only through :attr:`BaseAction.runtime`, an
:class:`ActionRuntime`: a small set of verbs (claim and finish jobs, send and take
events, look at and start machines), never the engine or the store themselves.

An action class also says what it does, as class attributes (its *traits*): the events
it returns, the context keys it writes, whether it claims jobs. The linter reads them
to check configs without running them, the engine to know which events an action takes
from the inbox itself. An action that declares none is taken to possibly return any
event and write any key.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypedDict, overload

from ..errors import ActionError
from ._machine_verbs import MachineVerbs
from ._seconds import parse_seconds

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..database.models.job import Job, NewJob
    from ..database.models.machine_event import MachineEvent
    from ..database.models.machine_state import MachineStateRecord
    from ..settings import Settings

__all__ = [
    "COMMON_OPTIONS",
    "ActionRuntime",
    "BaseAction",
    "JobClaim",
    "MachineLaunch",
    "event_names",
    "job_id_option",
    "runtime_of",
    "seconds_option",
    "settings_of",
    "whole_option",
]


class _NamedLaunch(TypedDict):
    machine_name: str
    initial_context: Mapping[str, Any]


class MachineLaunch(_NamedLaunch, total=False):
    """How a machine started beside this one is run: its instance name and context, and
    optionally the directory of its custom actions and the jobs handed to it as
    ``(job_id, attempt, lease_seconds)``."""

    actions_dir: str | None
    handed_jobs: Sequence[tuple[str, int, float]]


class JobClaim(TypedDict, total=False):
    """Which job to claim next, and for how long: a job of ``job_type`` (None: any), for
    ``machine_type`` (None: jobs for no machine type), held ``lease_seconds`` without
    renewal (None: the store's default); with up to ``prefetch`` more claimed ahead in
    the same transaction when the machine runs through jobs fast (default 0: none)."""

    job_type: str | None
    machine_type: str | None
    lease_seconds: float | None
    prefetch: int


class ActionRuntime(MachineVerbs, Protocol):
    """What an action may ask of the machine running it (:attr:`BaseAction.runtime`).

    The engine implements it for each machine; a host running many machines in one
    process adds the in-process start of another machine. Jobs are claimed *by this
    machine*: it holds their leases (renewed while it lives) until the config completes
    or fails them, or hands them to a machine it starts. What it asks of the machine
    itself (its name, state, activity log, own inbox) are
    :class:`~._machine_verbs.MachineVerbs`.
    """

    # -- events -------------------------------------------------------------------------

    async def deliver_event(
        self,
        target: str,
        event_type: str,
        payload: Any = None,
        *,
        job_id: str | None = None,
        due_at: float | None = None,
    ) -> int:
        """Commit an event from this machine to ``target``'s inbox, then wake ``target``
        (a machine not running gets it when it starts); returns the event's id.

        ``due_at``: a delayed event's due time (epoch seconds): ``target`` does not get
        it before then, whatever restarts happen meanwhile (None or past: at once).

        Raises:
            JSONDataError: the payload is outside the JSON bounds.
        """

    async def cancel_event(self, event_id: int) -> bool:
        """Cancel the delayed event ``event_id`` (sent with ``due_at``) before it is due:
        it is never delivered. False when it cannot be any more (due, handled, or not a
        delayed event).

        Raises:
            EventNotFound: no event has that id.
        """

    async def take_event(
        self, machine_name: str, event_types: Collection[str]
    ) -> MachineEvent | None:
        """Take the oldest waiting event of ``event_types`` from ``machine_name``'s inbox
        (marked processed); None when none waits."""

    async def drop_events(self, machine_name: str, event_types: Collection[str]) -> int:
        """Discard the waiting events of ``event_types`` from ``machine_name``'s inbox;
        how many were discarded."""

    # -- jobs -------------------------------------------------------------------------

    async def add_job(self, job: NewJob) -> Job | None:
        """Queue ``job`` (and wake the workers waiting for one); None when a job with its
        id is already in the queue, which is then left as it is.

        Raises:
            StoreError: its data is outside the JSON bounds.
        """

    async def claim_next_job(self, **claim: Unpack[JobClaim]) -> Job | None:
        """Claim the next ready job (``claim``: of ``job_type``, for ``machine_type`` or
        none); None when none is ready. A claimed job becomes the context's current job.

        ``lease_seconds``: how long the job stays this machine's without renewal
        (None: the store's default).
        """

    async def claim_job(self, job_id: str, *, lease_seconds: float | None = None) -> Job | None:
        """Claim one job by id; None when it is not ready to be claimed."""

    async def complete_job(self, job_id: str, *, result: Any = None) -> bool:
        """Complete a job this machine holds; False (logged) when it does not hold it."""

    async def fail_job(
        self, job_id: str, reason: str, *, retry: bool = True, output: Any = None
    ) -> bool:
        """Fail a job this machine holds: retried later while it has attempts left
        (unless ``retry`` is False), else dead. ``output``: what the failing action
        printed (a JSON value), kept with the failure. False (logged) when it does not
        hold it."""

    async def complete_held_jobs(self) -> None:
        """Complete every job this machine still holds (its config never finished them)."""

    def hand_over_job(self, job_id: str) -> tuple[int, float] | None:
        """Stop holding ``job_id`` because a machine this one starts takes it over:
        ``(attempt, lease_seconds)`` to pass to that machine; None if not held."""

    def take_back_job(self, job_id: str, attempt: int, lease_seconds: float) -> None:
        """Hold again a job whose hand-over did not happen."""

    async def pending_jobs(
        self, *, job_type: str | None = None, machine_type: str | None = None, limit: int = 100
    ) -> list[Job]:
        """The next ``limit`` jobs waiting to be claimed, in the order workers claim
        them (priority, then oldest first)."""

    async def finished_jobs(self, job_ids: Iterable[str]) -> dict[str, bool]:
        """Which of ``job_ids`` have finished: True completed, False dead or cancelled
        (ids still waiting or running are left out)."""

    async def next_job_ready_at(self, job_type: str | None = None) -> float | None:
        """When (epoch seconds) a job of ``job_type`` may next become claimable: the
        earliest start of a waiting job, or lease expiry of a claimed one (a waiter sleeps
        until then instead of polling). None: no such job."""

    async def job_queue_mark(self) -> int:
        """A counter of the job queue's wake-ups (a job added or finished): take it
        before looking at the queue, then :meth:`wait_for_job_queue` from it."""

    async def wait_for_job_queue(self, since: int, timeout: float) -> bool:
        """Wait until the job queue is woken after mark ``since``; False on timeout."""

    # -- other machines -----------------------------------------------------------------

    async def machine_record(self, machine_name: str) -> MachineStateRecord | None:
        """What the store records of a machine (its state, status, process); None for
        a machine that never ran."""

    def start_machine(self, config_path: str, **launch: Unpack[MachineLaunch]) -> None:
        """Start a machine in this process, beside this one (``launch``: its name and
        context, and optionally its actions directory and the jobs handed to it).

        Raises:
            ActionError: this machine runs outside a host (no process to add it to).
            StateMachineError: it cannot start (its name is taken, its config refused).
        """


#: Options every action takes: the engine reads them, or they are notes (``description``),
#: or configs for the earlier implementation use them (``repeatable``, ``run_policy``).
COMMON_OPTIONS = frozenset(
    {"type", "params", "description", "success", "error", "retry", "repeatable", "run_policy"}
)


class BaseAction:
    """An action run on entering a state.

    Attributes:
        config: the action's options (top-level and ``params:`` merged, interpolated);
            ``config["params"]`` holds the same options for actions written against
            the earlier layout.
        logger: a logger named after the action class.
        runtime: the machine running the action (see :class:`ActionRuntime`); set by
            the engine before :meth:`execute` is called, None when the action is run
            on its own.
    """

    # -- traits: what the action does, read by the engine and the linter ------------

    #: Event returned on success when the config gives no ``success:``.
    default_success: ClassVar[str | None] = None
    #: Event returned on failure when the config gives no ``error:``.
    default_error: ClassVar[str] = "error"
    #: Its other results, as ``{option: default event}`` (``{"empty": "no_jobs"}``:
    #: the ``empty:`` option names the event, ``no_jobs`` without it; a default of None
    #: returns nothing unless the option is given). None: undeclared, the action may
    #: return any event.
    other_events: ClassVar[Mapping[str, str | None] | None] = None
    #: The context keys it writes, besides the one its ``store_as:`` option names.
    #: None: undeclared, it may write any key.
    writes: ClassVar[frozenset[str] | None] = None
    #: The key it writes when the config gives no ``store_as:`` (None: none).
    default_store_as: ClassVar[str | None] = None
    #: Options that name context keys it writes: a key, or a mapping of keys.
    key_options: ClassVar[tuple[str, ...]] = ()
    #: Whether it claims jobs (a claimed job's data keys then fill the context).
    claims_jobs: ClassVar[bool] = False
    #: Whether all it does stays in this process (the context, logs, waiting): nothing
    #: outside sees it, so the steps before it need not be committed first, and a crash
    #: that undoes them undoes it too (steps then commit together).
    stays_in_process: ClassVar[bool] = False
    #: Whether all it does outside this process is read and write the machine's store
    #: (claims, completions, events sent): where the store carries a machine's waiting
    #: steps into the next write's transaction (SQLite, PostgreSQL), its first write commits them
    #: with it, so they need not be committed before it runs.
    store_only: ClassVar[bool] = False
    #: Options of :attr:`other_events` whose event means "nothing yet" for an action
    #: that polls: unless a transition takes it, the machine stops polling.
    polling_results: ClassVar[tuple[str, ...]] = ()
    #: Options the engine passes through uninterpolated (the action renders them itself).
    raw_options: ClassVar[frozenset[str]] = frozenset()
    #: Options whose text runs as a shell command (placeholders land in shell syntax).
    shell_options: ClassVar[frozenset[str]] = frozenset()
    #: The options it reads, besides :data:`COMMON_OPTIONS` and those its other traits
    #: name (:attr:`other_events`, :attr:`key_options`, ``store_as``). None: undeclared,
    #: any option is accepted; declared, any other is an unknown key (lint SM108).
    options: ClassVar[frozenset[str] | None] = None

    runtime: ActionRuntime | None = None

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config: dict[str, Any] = dict(config)
        self.logger = logging.getLogger(f"statemachine_engine.actions.{type(self).__name__}")

    def get_config_value(self, key: str, default: Any = None) -> Any:
        """An option from the top level of the action's config, else from ``params:``."""
        if key in self.config:
            return self.config[key]
        params = self.config.get("params")
        if isinstance(params, Mapping) and key in params:
            return params[key]
        return default

    @property
    def success_event(self) -> str | None:
        """The event to return on success (``success:`` or the action's default)."""
        value = self.get_config_value("success", self.default_success)
        return str(value) if value is not None else None

    @property
    def error_event(self) -> str:
        """The event to return on failure (``error:`` or the action's default)."""
        return str(self.get_config_value("error", self.default_error))

    def result_event(self, option: str) -> str | None:
        """The event option ``option`` of :attr:`other_events` names (``empty:``), else
        its declared default; None when neither gives one."""
        value = self.get_config_value(option, (self.other_events or {}).get(option))
        return None if value is None else str(value)

    async def execute(self, context: dict[str, Any]) -> str | None:
        """Do the work; return the next event's name or None."""
        raise NotImplementedError(f"{type(self).__name__} must implement execute()")

    # -- traits that depend on the options ----------------------------------------

    @classmethod
    def emitted_events(cls, options: Mapping[str, Any]) -> frozenset[str] | None:
        """The events an action with these (uninterpolated) options may return; None
        when that cannot be known: traits undeclared, or an event written with a
        placeholder."""
        if cls.other_events is None:
            return None
        return event_names(
            [
                options.get("error", cls.default_error),
                options.get("success", cls.default_success),
                *(options.get(option, event) for option, event in cls.other_events.items()),
            ]
        )

    @classmethod
    def written_keys(cls, options: Mapping[str, Any]) -> frozenset[str] | None:
        """The top-level context keys it writes (a dotted key gives its root); None when
        undeclared."""
        if cls.writes is None:
            return None
        keys = set(cls.writes)
        store_as = options.get("store_as", cls.default_store_as)
        if store_as is not None:
            keys.add(str(store_as))
        for option in cls.key_options:
            named = options.get(option)
            if isinstance(named, Mapping):
                keys.update(named)
            elif named is not None:
                keys.add(named)
        return frozenset(str(key).split(".", 1)[0] for key in keys)

    @classmethod
    def known_options(cls) -> frozenset[str] | None:
        """Every option it accepts; None when undeclared (see :attr:`options`)."""
        if cls.options is None:
            return None
        store_as = {"store_as"} if cls.default_store_as is not None else set()
        return (
            COMMON_OPTIONS
            | cls.options
            | frozenset(cls.other_events or ())
            | frozenset(cls.key_options)
            | store_as
        )

    @classmethod
    def consumed_events(cls, options: Mapping[str, Any]) -> frozenset[str]:
        """Event types it takes from its machine's inbox itself: the engine leaves
        those waiting for it instead of dropping them as unhandled."""
        return frozenset()

    @classmethod
    def sent_events(cls, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        """``(target machine, event)`` pairs it sends other machines (a target may hold
        a placeholder), so that configs linted together know what each receives."""
        return []


def event_names(events: Iterable[Any]) -> frozenset[str] | None:
    """The names among ``events`` (None left out); None if one holds a placeholder,
    since it is only known at run time."""
    names = {str(event) for event in events if event is not None}
    if any("{" in name for name in names):
        return None
    return frozenset(names)


def settings_of(action: BaseAction) -> Settings:
    """The settings of the machine running ``action``; outside one, the environment's."""
    if action.runtime is not None:
        return action.runtime.settings
    from ..settings import Settings

    return Settings.load()


def runtime_of(action: BaseAction) -> ActionRuntime:
    """The machine running ``action``, for actions that cannot work without one."""
    if action.runtime is None:
        raise ActionError(
            f"{action.config.get('type', type(action).__name__)} needs a running machine "
            "(it uses the store); run it through StateMachineEngine"
        )
    return action.runtime


def job_id_option(action: BaseAction, context: Mapping[str, Any]) -> str:
    """The job ``action`` acts on: its ``job_id`` option, else the context's job.

    Raises:
        ActionError: neither names one (or only an unfilled placeholder does).
    """
    job_id = action.get_config_value("job_id") or context.get("job_id")
    if not job_id or (isinstance(job_id, str) and job_id.startswith("{")):
        raise ActionError(
            f"{action.config.get('type', type(action).__name__)}: no job_id given and no "
            "job claimed"
        )
    return str(job_id)


@overload
def seconds_option(action: BaseAction, key: str, default: float) -> float: ...
@overload
def seconds_option(action: BaseAction, key: str, default: None) -> float | None: ...
def seconds_option(action: BaseAction, key: str, default: float | None) -> float | None:
    """Option ``key`` of ``action`` as a number of seconds (``default`` when absent or
    null).

    Raises:
        ActionError: the option is not a non-negative number.
    """
    raw = action.get_config_value(key)
    if raw is None:
        return default
    try:
        return parse_seconds(raw, f"option {key}")
    except ValueError as exc:
        raise ActionError(str(exc)) from None


def whole_option(action: BaseAction, key: str, default: int) -> int:
    """Option ``key`` of ``action`` as a whole number of 0 or more (``default`` when
    absent).

    Raises:
        ActionError: the option is not a whole number of 0 or more.
    """
    raw = action.get_config_value(key, default)
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise ActionError(f"{key} must be a whole number of 0 or more, not {raw!r}")
    return raw

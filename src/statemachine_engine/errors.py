"""The exceptions statemachine-engine raises on purpose: every one is defined here.

Every error meant for a user derives from :class:`StateMachineError`; the CLIs print
its message on one line and exit non-zero, without a traceback. The tree (a test keeps
it true)::

    StateMachineError
    ├── ConfigError               a config file cannot be used (carries path, line, column
    │   │                         and the lint rule it breaks)
    │   ├── UnknownActionError    an action ``type`` that no actions dir or builtin provides
    │   └── ConfigRefused         lint errors that would leave a machine stuck (one line each)
    ├── MalformedTimeout          ``timeout(...)`` whose duration is unusable (also a
    │                             ValueError; the loader reports it as a ConfigError)
    ├── GuardError                an ``if:`` expression does not compile (the loader
    │                             reports it as a ConfigError) or cannot be evaluated
    ├── ActionError               an action was misconfigured or failed in a way it reports
    │   └── ShellValueError       a value cannot be written where its placeholder lands in
    │                             a bash command
    ├── JSONDataError             JSON too deep, too large or not strict (also a ValueError)
    ├── StoreError                the store cannot be opened or used
    │   ├── JobNotFound           no job has that id
    │   ├── JobExists             a job with that id is already in the queue
    │   ├── EventNotFound         no inbox event has that id
    │   ├── EventNotCancelled     the event cannot be cancelled any more (due, handled or
    │   │                         not a delayed event)
    │   ├── StoreNotFound         a command that only reads found no store (it creates none)
    │   └── StoreReplaced         the SQLite file was deleted, replaced, overwritten or damaged
    │                             under a running machine
    ├── MachineAlreadyRunning     another live process holds the machine's name in its store
    ├── MachineFailed             a machine ended badly (exit status 1)
    │   ├── DeadEndError          it entered a non-terminal state nothing leads out of
    │   ├── UnhandledFailure      it ended right after an error event no transition took
    │   └── UnknownStateError     it was to resume in a state its config no longer has
    ├── EventSocketBusy           another live process listens on the event socket
    ├── DiagramNotFound           no diagram files and no config file for that name
    ├── DiagramUnavailable        the diagram generator could not draw a config
    ├── SystemStartFailed         a machine of a system did not come up (its process
    │                             ended, or it did not register in time)
    └── UsageError                a command-line argument is wrong (exit status 2)

The modules that raise them re-export the names they used to define
(``database.store.StoreError``, ``jsondata.JSONDataError``...), so older imports work.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "LOAD_RULE",
    "UNKNOWN_ACTION_RULE",
    "ActionError",
    "ConfigError",
    "ConfigRefused",
    "DeadEndError",
    "DiagramNotFound",
    "DiagramUnavailable",
    "EventNotCancelled",
    "EventNotFound",
    "EventSocketBusy",
    "GuardError",
    "JSONDataError",
    "JobExists",
    "JobNotFound",
    "MachineAlreadyRunning",
    "MachineFailed",
    "MalformedTimeout",
    "ShellValueError",
    "StateMachineError",
    "StoreError",
    "StoreNotFound",
    "StoreReplaced",
    "SystemStartFailed",
    "UnhandledFailure",
    "UnknownActionError",
    "UnknownStateError",
    "UsageError",
]

#: The lint rule of a config that cannot be loaded, when no more precise one applies.
LOAD_RULE = "SM001"
#: The lint rule of an action type nothing provides.
UNKNOWN_ACTION_RULE = "SM102"


class StateMachineError(Exception):
    """Root of every error raised deliberately by statemachine-engine."""


class ConfigError(StateMachineError):
    """A machine config is invalid.

    Attributes:
        message: what is wrong, in plain words.
        path: the config file, when known.
        line: 1-based line of the offending YAML node, when known.
        column: 1-based column, when known.
        rule: the lint rule the config breaks, as ``statemachine-validate`` reports it
            (:data:`LOAD_RULE` unless a more precise rule was given where it was raised).
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        rule: str = LOAD_RULE,
    ) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.column = column
        self.rule = rule
        super().__init__(self.__str__())

    @property
    def location(self) -> str:
        """``file:line:column`` (as much of it as is known)."""
        parts = [self.path or "<config>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class UnknownActionError(ConfigError):
    """An action ``type`` that neither the actions dir nor the builtins provide."""

    def __init__(
        self,
        action_type: str,
        known: Sequence[str],
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        import difflib  # (only for the message: not on every start's path)

        self.action_type = action_type
        self.known = tuple(known)
        close = difflib.get_close_matches(action_type, self.known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        super().__init__(
            f"unknown action type {action_type!r}{hint}; known types: {', '.join(self.known)}",
            path=path,
            line=line,
            column=column,
            rule=UNKNOWN_ACTION_RULE,
        )


class ConfigRefused(ConfigError):
    """A machine is not started: lint errors would leave it stuck in a state.

    Attributes:
        lines: one ``file:line: CODE error message`` line per error.
    """

    def __init__(self, lines: Sequence[str], *, path: str | None = None) -> None:
        self.lines = tuple(lines)
        super().__init__("; ".join(self.lines), path=path)

    def __str__(self) -> str:
        return "\n".join(self.lines)


class MalformedTimeout(StateMachineError, ValueError):
    """``timeout(...)`` whose duration is not a positive number of seconds.

    Raised by the pure timeout parser; the loader reports it as a :class:`ConfigError`
    at the event's position.
    """


class ActionError(StateMachineError):
    """An action is misconfigured or failed; the engine turns it into the action's error event."""


class ShellValueError(ActionError):
    """A value cannot be written where its placeholder lands in a bash command.

    Attributes:
        placeholder: the placeholder as written, e.g. ``{n}``.
    """

    def __init__(self, placeholder: str, message: str) -> None:
        self.placeholder = placeholder
        super().__init__(message)


class GuardError(StateMachineError):
    """An ``if:`` guard cannot be compiled or evaluated (the message says why)."""


class JSONDataError(StateMachineError, ValueError):
    """A JSON text or value is outside the bounds (too deep, too large, not strict).

    Attributes:
        bounded: True when refused for a bound (depth, size, NaN...), False when the
            text is simply not JSON.
    """

    def __init__(self, message: str, *, bounded: bool = True) -> None:
        super().__init__(message)
        self.bounded = bounded


class StoreError(StateMachineError):
    """The store cannot be opened or used (carries the database location)."""

    def __init__(self, message: str, *, location: str | None = None) -> None:
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


class JobNotFound(StoreError):
    """No job has that id."""


class JobExists(StoreError):
    """A job with that id is already in the queue (adding it again changes nothing).

    Attributes:
        job_id: the id.
    """

    def __init__(self, job_id: str) -> None:
        super().__init__(f"a job with id {job_id!r} already exists")
        self.job_id = job_id


class EventNotFound(StoreError):
    """No inbox event has that id."""


class EventNotCancelled(StoreError):
    """An event that cannot be cancelled any more: due already (its machine may have read
    it), handled, or not a delayed event."""


class StoreNotFound(StoreError):
    """A command that only reads found no store where it looked (it never creates one)."""

    def __init__(self, location: str) -> None:
        super().__init__(
            f"no store at {location}: nothing has run here yet; point to one with "
            "--db PATH or STATEMACHINE_DB"
        )
        self.location = location


class StoreReplaced(StoreError):
    """The SQLite file a running process has open was deleted, replaced or overwritten
    under it, or became unreadable (or its ``-shm`` file can no longer be written)."""

    def __init__(self, location: str, what: str = "", *, message: str | None = None) -> None:
        super().__init__(
            message
            or f"the store {location}{what} was deleted or replaced while this machine ran; "
            "what it would write now would be lost and events sent to the new file would "
            "wait unseen, so it stops: restore the file or start the machines again"
        )
        self.location = location


class MachineAlreadyRunning(StateMachineError):
    """Another live process runs a machine of this name against the same store.

    Attributes:
        machine_name: the name asked for.
        pid: the holder's process id, when known.
        host: the holder's host name, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        machine_name: str | None = None,
        pid: object = None,
        host: str | None = None,
    ) -> None:
        self.machine_name = machine_name
        self.pid = pid
        self.host = host
        super().__init__(message)


class MachineFailed(StateMachineError):
    """A machine ended in a way that counts as a failure.

    Attributes:
        machine: the machine's name.
        state: the state it ended in (or was to resume in).
    """

    def __init__(self, message: str, *, machine: str, state: str | None) -> None:
        self.machine = machine
        self.state = state
        super().__init__(message)


class DeadEndError(MachineFailed):
    """The machine entered a non-terminal state that nothing can ever leave."""


class UnhandledFailure(MachineFailed):
    """The machine ended right after an action failed and no transition took its error."""


class UnknownStateError(MachineFailed):
    """A durable machine was to resume in a state its config no longer has."""


class EventSocketBusy(StateMachineError):
    """Another live process already listens on the event socket."""


class DiagramNotFound(StateMachineError):
    """No diagram files and no config file for that stem."""


class DiagramUnavailable(StateMachineError):
    """The diagram generator could not draw this config."""


class SystemStartFailed(StateMachineError):
    """A machine of a system (``statemachine-system up``) did not come up: its process
    ended, or it did not register in time."""


class UsageError(StateMachineError):
    """A command-line argument is wrong."""

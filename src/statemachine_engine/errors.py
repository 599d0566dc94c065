"""The exceptions statemachine-engine raises on purpose.

Every error meant for a user derives from :class:`StateMachineError`; the CLIs print
its message on one line and exit non-zero, without a traceback::

    StateMachineError
    ├── ConfigError               a config file cannot be used (carries path, line, column)
    │   ├── UnknownActionError    an action ``type`` that no actions dir or builtin provides
    │   └── ConfigRefused         lint errors that would leave a machine stuck (one line each)
    ├── ActionError               an action was misconfigured or failed in a way it reports
    ├── MachineAlreadyRunning     another live process holds the machine's name in its store
    ├── JSONDataError             JSON too deep, too large or not strict (jsondata.py;
    │                             also a ValueError)
    ├── StoreError                the store cannot be opened or used (database/store.py)
    │   ├── JobNotFound           no job has that id
    │   ├── StoreNotFound         a command that only reads found no store (it creates none)
    │   └── StoreReplaced         the SQLite file was deleted, replaced, overwritten or damaged
    │                             under a running machine
    ├── MachineFailed             a machine ended badly (exit status 1)
    │   ├── DeadEndError          it entered a non-terminal state nothing leads out of
    │   ├── UnhandledFailure      it ended right after an error event no transition took
    │   └── UnknownStateError     it was to resume in a state its config no longer has
    └── UsageError                a command-line argument is wrong (exit status 2)
"""

from __future__ import annotations

from collections.abc import Sequence


class StateMachineError(Exception):
    """Root of every error raised deliberately by statemachine-engine."""


class ConfigError(StateMachineError):
    """A machine config is invalid.

    Attributes:
        message: what is wrong, in plain words.
        path: the config file, when known.
        line: 1-based line of the offending YAML node, when known.
        column: 1-based column, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.column = column
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
        self.action_type = action_type
        self.known = tuple(known)
        super().__init__(
            f"unknown action type {action_type!r}; known types: {', '.join(self.known)}",
            path=path,
            line=line,
            column=column,
        )


class ActionError(StateMachineError):
    """An action is misconfigured or failed; the engine turns it into the action's error event."""


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


class UsageError(StateMachineError):
    """A command-line argument is wrong."""


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

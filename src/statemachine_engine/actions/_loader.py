"""Find the class behind an action ``type``.

``type: send_event`` means class ``SendEventAction`` in ``send_event_action.py``. The
loader looks in the user's actions directory first (so a file there overrides a
builtin), then among the builtins in :mod:`statemachine_engine.actions.builtin`.

A custom file that cannot be imported (whatever it raises, ``SystemExit`` included; only
``KeyboardInterrupt`` stays an interrupt), that has no action class, or whose class's
``execute`` is no ``async def``, is a :class:`ConfigError` of rule :data:`LOAD_FAILURE_RULE`:
``statemachine`` refuses to start with it and ``statemachine-validate`` reports it.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import FunctionType, ModuleType
from typing import TYPE_CHECKING

from ..errors import ConfigError, StateMachineError, UnknownActionError
from .base import BaseAction

if TYPE_CHECKING:
    from ..config.model import MachineConfig

_SUFFIX = "_action.py"
_BUILTIN_PACKAGE = "statemachine_engine.actions.builtin"
#: Alternative spellings configs already use.
ALIASES = {"activity_log": "log"}
#: The lint rule of an action file that cannot be loaded.
LOAD_FAILURE_RULE = "SM109"
#: A code object's flags of an ``async def`` and of a ``types.coroutine`` generator (the
#: same since 3.5; read here because ``inspect`` is too heavy to import at every start).
_AWAITABLE_CODE_FLAGS = 0x80 | 0x100


def is_builtin_class(cls: type[BaseAction]) -> bool:
    """Whether ``cls`` is one of the builtin actions (not a custom file's class)."""
    return cls.__module__.startswith(f"{_BUILTIN_PACKAGE}.")


def class_name_for(action_type: str) -> str:
    """``send_event`` -> ``SendEventAction``."""
    return "".join(part[:1].upper() + part[1:] for part in action_type.split("_")) + "Action"


class ActionLoader:
    """Resolves action types to classes, caching what it imports.

    Args:
        actions_dir: a directory of ``<type>_action.py`` files (searched recursively,
            shallowest first) that take precedence over the builtins.
    """

    def __init__(self, actions_dir: str | Path | None = None) -> None:
        self.actions_dir = Path(actions_dir).resolve() if actions_dir is not None else None
        if self.actions_dir is not None and not self.actions_dir.is_dir():
            raise ConfigError("actions directory not found", path=str(actions_dir))
        self._custom = self._scan_custom()
        self._builtin = self._scan_builtin()
        self._classes: dict[str, type[BaseAction]] = {}

    def _scan_custom(self) -> dict[str, Path]:
        if self.actions_dir is None:
            return {}
        found: dict[str, Path] = {}
        files = sorted(self.actions_dir.rglob(f"*{_SUFFIX}"), key=lambda p: (len(p.parts), p))
        for file in files:
            found.setdefault(file.name[: -len(_SUFFIX)], file)
        return found

    @staticmethod
    def _scan_builtin() -> set[str]:
        directory = Path(__file__).resolve().parent.parent / "actions" / "builtin"
        return {file.name[: -len(_SUFFIX)] for file in directory.glob(f"*{_SUFFIX}")}

    def known_types(self) -> list[str]:
        """Every type this loader can provide, sorted."""
        return sorted(set(self._custom) | self._builtin | set(ALIASES))

    def is_known(self, action_type: str) -> bool:
        return (
            action_type in self._custom
            or action_type in self._builtin
            or ALIASES.get(action_type) in self._builtin
        )

    def source_of(self, action_type: str) -> str:
        """Where a type comes from: the custom file's path, or ``builtin``."""
        if action_type in self._custom:
            return str(self._custom[action_type])
        return "builtin"

    def load(self, action_type: str) -> type[BaseAction]:
        """The class for ``action_type``.

        Raises:
            UnknownActionError: nothing provides the type.
            ConfigError: the file exists but cannot be imported or has no action class.
        """
        cached = self._classes.get(action_type)
        if cached is not None:
            return cached
        if action_type in self._custom:
            module = self._import_file(action_type, self._custom[action_type])
            cls = self._find_class(module, action_type)
        else:
            real = action_type if action_type in self._builtin else ALIASES.get(action_type)
            if real is None or real not in self._builtin:
                raise UnknownActionError(action_type, self.known_types())
            module = importlib.import_module(f"{_BUILTIN_PACKAGE}.{real}_action")
            cls = self._find_class(module, real)
        self._classes[action_type] = cls
        return cls

    @staticmethod
    def _import_file(action_type: str, file: Path) -> ModuleType:
        import importlib.util  # only for an --actions-dir file, not for the builtins

        module_name = f"statemachine_engine_custom_actions.{action_type}_action"
        spec = importlib.util.spec_from_file_location(module_name, file)
        if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has one
            raise ConfigError(
                f"cannot import action {action_type!r}", path=str(file), rule=LOAD_FAILURE_RULE
            )
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        # A module calling sys.exit() as it is imported fails to import like any other;
        # Ctrl-C (KeyboardInterrupt) stays what it is.
        except (Exception, SystemExit) as exc:
            sys.modules.pop(module_name, None)
            raised = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise ConfigError(
                f"cannot import action {action_type!r}: {raised}",
                path=str(file),
                line=_error_line(exc, file),
                rule=LOAD_FAILURE_RULE,
            ) from exc
        return module

    @staticmethod
    def _find_class(module: ModuleType, action_type: str) -> type[BaseAction]:
        expected = class_name_for(action_type)
        cls = getattr(module, expected, None)
        if isinstance(cls, type) and issubclass(cls, BaseAction):
            return _awaitable_execute(cls, action_type)
        defined = [
            obj
            for obj in vars(module).values()
            if isinstance(obj, type)
            and issubclass(obj, BaseAction)
            and obj is not BaseAction
            and obj.__module__ == module.__name__
        ]
        if len(defined) == 1:
            return _awaitable_execute(defined[0], action_type)
        raise ConfigError(
            f"action {action_type!r}: expected a BaseAction subclass named {expected}",
            path=getattr(module, "__file__", None),
            rule=LOAD_FAILURE_RULE,
        )

    def consumed_events(self, config: MachineConfig) -> frozenset[str]:
        """Event types ``config``'s actions take from the inbox themselves
        (``check_events``): the inbox leaves them waiting for those actions."""
        found: set[str] = set()
        for specs in config.actions.values():
            for spec in specs:
                try:
                    cls = self.load(spec.type)
                except StateMachineError:  # reported when its state is reached
                    continue
                found |= cls.consumed_events(spec.options)
        return frozenset(found)

    def preload(self, action_types: set[str]) -> None:
        """Import the classes of ``action_types`` now, so errors surface before running."""
        for action_type in sorted(action_types):
            self.load(action_type)


def _awaitable_execute(cls: type[BaseAction], action_type: str) -> type[BaseAction]:
    """``cls``, whose ``execute`` the engine awaits: a plain ``def`` would fail each time
    it runs (``object str can't be used in 'await' expression``), so it is refused now.

    Raises:
        ConfigError: ``execute`` is a plain function, not ``async def``.
    """
    execute = cls.execute
    if not isinstance(execute, FunctionType) or _returns_awaitable(execute):
        return cls
    raise ConfigError(
        f"action {action_type!r}: {cls.__name__}.execute must be `async def` (the engine "
        "awaits what it returns); write `async def execute(self, context):`",
        path=execute.__code__.co_filename,
        line=execute.__code__.co_firstlineno,
        rule=LOAD_FAILURE_RULE,
    )


def _returns_awaitable(function: FunctionType) -> bool:
    """Whether calling ``function`` gives an awaitable, as far as its code tells: it is an
    ``async def``, is marked as one (``inspect.markcoroutinefunction``), or wraps one
    (``functools.wraps``)."""
    wrapped: object = function
    while isinstance(wrapped, FunctionType):
        if wrapped.__code__.co_flags & _AWAITABLE_CODE_FLAGS:
            return True
        if "_is_coroutine_marker" in vars(wrapped):
            return True
        wrapped = getattr(wrapped, "__wrapped__", None)
    return wrapped is not None  # a callable object: what it returns is not known here


def _error_line(exc: BaseException, file: Path) -> int | None:
    if isinstance(exc, SyntaxError):
        return exc.lineno
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename) == file:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line

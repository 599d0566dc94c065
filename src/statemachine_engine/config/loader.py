"""Build the typed :class:`MachineConfig` from YAML, rejecting bad configs up front.

Every rejection is a :class:`ConfigError` naming the file and line and saying what to
write instead. Parsing and checking are pure (:func:`config_from_text`); only
:func:`load_config` touches the file system.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..errors import LOAD_RULE, ConfigError, MalformedTimeout, UnknownActionError
from ._hashing import SOURCE_HASH_LENGTH as SOURCE_HASH_LENGTH  # re-exported
from ._hashing import source_hash
from ._keys import (
    EVENT_KEYS,
    EXTENSION_PREFIX,
    TOP_LEVEL_KEYS,
    TRANSITION_KEYS,
    unknown_key_message,
)
from ._max_times import read_max_times
from ._timeouts import parse_timeout
from .model import (
    DEFAULT_TERMINAL_STATES,
    WILDCARD,
    ActionSpec,
    EventSpec,
    MachineConfig,
    Position,
    Transition,
)

if TYPE_CHECKING:
    from ._yaml_source import YamlDocument, YamlPath

__all__ = [
    "ActionTypeCheck",
    "check_action_types",
    "config_from_text",
    "load_config",
    "source_hash",
]

#: Given an action type, whether something provides it (see ``ActionLoader.is_known``).
ActionTypeCheck = Callable[[str], bool]

#: The lint rules of the loader's own rejections, carried by the ConfigError it raises
#: (``statemachine-validate`` reports them; their table is ``core.checks.findings.RULES``).
#: Anything else it rejects breaks :data:`~statemachine_engine.errors.LOAD_RULE`.
UNDEFINED_STATE_RULE = "SM101"
MALFORMED_TIMEOUT_RULE = "SM103"
GUARD_RULE = "SM107"
UNKNOWN_KEY_RULE = "SM108"


def load_config(
    path: str | Path,
    *,
    is_known_action: ActionTypeCheck | None = None,
    known_actions: Callable[[], list[str]] | None = None,
    use_cache: bool = True,
) -> MachineConfig:
    """Read and validate a config file.

    Args:
        path: the YAML file.
        is_known_action: when given, unknown action types are rejected.
        known_actions: lists the known types for the error message.
        use_cache: reuse the parsed model kept by :mod:`._cache` while the file
            is unchanged (it skips parsing YAML, the largest start-up cost).

    Raises:
        ConfigError: the file is missing, unreadable or invalid.
    """
    from . import _cache as config_cache

    file = Path(path)
    try:
        stat = file.stat()
        absolute = file.resolve()
        config = config_cache.lookup(absolute, stat, str(path)) if use_cache else None
        if config is None:
            data = file.read_bytes()
            text = _universal_newlines(data.decode("utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError("config file not found", path=str(path)) from exc
    except IsADirectoryError as exc:
        raise ConfigError("is a directory, not a config file", path=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError("config file is not UTF-8 text", path=str(path)) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror}", path=str(path)) from exc
    if config is None:
        config = config_from_text(text, path=str(path))._replace(source_hash=source_hash(data))
        if use_cache:
            config_cache.store(absolute, stat, config)
    check_action_types(config, is_known_action, known_actions)
    return config


def _universal_newlines(text: str) -> str:
    """``\\r\\n`` and ``\\r`` as ``\\n``, as reading in text mode does."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def config_from_text(
    text: str,
    *,
    path: str | None = None,
    is_known_action: ActionTypeCheck | None = None,
    known_actions: Callable[[], list[str]] | None = None,
) -> MachineConfig:
    """Parse and validate config text (pure; see :func:`load_config`)."""
    from ._yaml_source import parse_yaml

    config = _ConfigBuilder(parse_yaml(text, path), path).build()
    check_action_types(config, is_known_action, known_actions)
    return config


def check_action_types(
    config: MachineConfig,
    is_known_action: ActionTypeCheck | None,
    known_actions: Callable[[], list[str]] | None = None,
) -> None:
    """Reject the first action whose type nothing provides (in file order).

    Raises:
        UnknownActionError: naming the file, line and the known types.
    """
    if is_known_action is None:
        return
    specs = [spec for state_specs in config.actions.values() for spec in state_specs]
    for spec in sorted(specs, key=lambda s: s.position.line or 0):
        if not is_known_action(spec.type):
            raise UnknownActionError(
                spec.type,
                known_actions() if known_actions else [],
                path=spec.position.path,
                line=spec.position.line,
                column=spec.position.column,
            )


class _ConfigBuilder:
    def __init__(self, doc: YamlDocument, path: str | None) -> None:
        self.doc = doc
        self.path = path

    # -- helpers ---------------------------------------------------------------

    def pos(self, at: YamlPath) -> Position:
        return Position(self.path, self.doc.line_of(at), self.doc.column_of(at))

    def error(self, message: str, at: YamlPath = (), *, rule: str = LOAD_RULE) -> ConfigError:
        line = self.doc.line_of(at) if at else 1
        return ConfigError(
            message, path=self.path, line=line, column=self.doc.column_of(at), rule=rule
        )

    def check_keys(
        self, item: dict[Any, Any], known: frozenset[str], at: YamlPath, where: str
    ) -> None:
        """Reject the first key of ``item`` (in file order) that is not ``known``. At the top
        level, keys of the user's own are allowed: ``x-`` ones, and those holding a value
        shared with YAML aliases (``defaults: &quiet {...}`` then ``<<: *quiet``)."""
        for key in item:
            if key in known or (
                not at and (str(key).startswith(EXTENSION_PREFIX) or (key,) in self.doc.aliased)
            ):
                continue
            raise self.error(
                unknown_key_message(str(key), known, where), (*at, key), rule=UNKNOWN_KEY_RULE
            )

    def string(self, value: Any, at: YamlPath, what: str) -> str:
        if isinstance(value, bool) or value is None or isinstance(value, list | dict):
            raise self.error(f"{what} must be a name, got {_describe(value)}", at)
        return str(value)

    # -- the build ---------------------------------------------------------------

    def build(self) -> MachineConfig:
        data = self.doc.data
        if not isinstance(data, dict):
            raise self.error(
                "a config must be a mapping with at least initial_state and transitions, "
                f"got {_describe(data)}"
            )
        if "machines" in data and "initial_state" not in data:
            raise self.error(
                "this is a system manifest (it lists machines:), not a machine config: "
                "run it with `statemachine-system up`"
            )
        self.check_keys(data, TOP_LEVEL_KEYS, (), "the config's top level")
        metadata = data.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise self.error("metadata: must be a mapping", ("metadata",))
        if "initial_state" not in data:
            raise self.error("missing required key 'initial_state' (the state to start in)")
        initial = self.string(data["initial_state"], ("initial_state",), "initial_state")

        declared = self.declared_states(data)
        transitions = self.transitions(data)
        actions = self.actions(data)
        events = self.events(data)
        final = self.final_states(data)

        states = list(declared or ())
        seen = set(states)

        def mention(state: str) -> None:
            if state != WILDCARD and state not in seen:
                seen.add(state)
                states.append(state)

        if declared is not None:
            self.check_declared(declared, initial, transitions, actions)
        mention(initial)
        for transition in transitions:
            mention(transition.source)
            mention(transition.target)
        for state in actions:
            mention(state)

        groups = self.groups(data, seen)
        name = (
            data.get("name")
            or metadata.get("name")
            or (Path(self.path).stem if self.path else "machine")
        )
        return MachineConfig(
            name=str(name),
            initial_state=initial,
            states=tuple(states),
            transitions=tuple(transitions),
            actions=MappingProxyType(actions),
            events=MappingProxyType(events),
            groups=MappingProxyType(groups),
            max_times=MappingProxyType(read_max_times(data.get("max_time"), seen, self.error)),
            final_states=DEFAULT_TERMINAL_STATES | final,
            declared_states=declared is not None,
            metadata=MappingProxyType(dict(metadata)),
            description=str(data["description"]) if data.get("description") else None,
            template=bool(data.get("template") or metadata.get("template")),
            path=self.path,
            positions=MappingProxyType(
                {str(key): self.pos((key,)) for key in data if isinstance(key, str)}
            ),
        )

    def declared_states(self, data: dict[str, Any]) -> list[str] | None:
        raw = data.get("states")
        if raw is None:
            return None
        if not isinstance(raw, list):
            raise self.error("states: must be a list of state names", ("states",))
        states: list[str] = []
        for index, item in enumerate(raw):
            state = self.string(item, ("states", index), "each entry of states:")
            if state in states:
                raise self.error(f"state {state!r} is listed twice in states:", ("states", index))
            states.append(state)
        return states

    def check_declared(
        self,
        declared: list[str],
        initial: str,
        transitions: list[Transition],
        actions: dict[str, tuple[ActionSpec, ...]],
    ) -> None:
        known = set(declared)
        if initial not in known:
            raise self.error(
                f"initial_state {initial!r} is not listed in states: {declared}",
                ("initial_state",),
                rule=UNDEFINED_STATE_RULE,
            )
        for transition in transitions:
            for role, state in (("from", transition.source), ("to", transition.target)):
                if state != WILDCARD and state not in known:
                    raise ConfigError(
                        f"transition {transition.source} -> {transition.target} "
                        f"on {transition.event!r}: {role} state {state!r} is not listed in "
                        f"states: (add it there or fix the name)",
                        path=self.path,
                        line=transition.position.line,
                        column=transition.position.column,
                        rule=UNDEFINED_STATE_RULE,
                    )
        for state, specs in actions.items():
            if state not in known:
                line = specs[0].position.line if specs else None
                raise ConfigError(
                    f"actions are given for state {state!r}, which is not listed in states:",
                    path=self.path,
                    line=self.doc.line_of(("actions", state)) or line,
                    rule=UNDEFINED_STATE_RULE,
                )

    def transitions(self, data: dict[str, Any]) -> list[Transition]:
        raw = data.get("transitions")
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise self.error("transitions: must be a list of {from, to, event}", ("transitions",))
        result: list[Transition] = []
        for index, item in enumerate(raw):
            at: YamlPath = ("transitions", index)
            if not isinstance(item, dict):
                raise self.error(
                    f"each transition must be a mapping with from, to and event, "
                    f"got {_describe(item)}",
                    at,
                )
            self.check_keys(item, TRANSITION_KEYS, at, "a transition")
            missing = [key for key in ("from", "to", "event") if item.get(key) is None]
            if missing:
                raise self.error(f"transition is missing {', '.join(missing)}", at)
            target = self.string(item["to"], (*at, "to"), "to")
            event = self.string(item["event"], (*at, "event"), "event")
            if target == WILDCARD:
                raise self.error("a transition cannot go to '*'", (*at, "to"))
            try:
                timeout = parse_timeout(event)
            except MalformedTimeout as exc:
                raise self.error(str(exc), (*at, "event"), rule=MALFORMED_TIMEOUT_RULE) from exc
            guard = self.guard(item, at)
            sources = item["from"] if isinstance(item["from"], list) else [item["from"]]
            for source_index, source in enumerate(sources):
                where = (
                    (*at, "from", source_index) if isinstance(item["from"], list) else (*at, "from")
                )
                result.append(
                    Transition(
                        source=self.string(source, where, "from"),
                        target=target,
                        event=event,
                        timeout=timeout,
                        position=self.pos(at),
                        guard=guard,
                    )
                )
        return result

    def guard(self, item: dict[str, Any], at: YamlPath) -> str | None:
        """The transition's ``if:`` expression, compiled once here to reject it early."""
        if "if" not in item:
            return None
        raw = item["if"]
        where = (*at, "if")
        if not isinstance(raw, str):
            raise self.error(
                f"if: must be an expression such as 'n > 3' (quote it), got {_describe(raw)}",
                where,
                rule=GUARD_RULE,
            )
        from ._guards import GuardError, compile_guard

        try:
            compile_guard(raw)
        except GuardError as exc:
            raise self.error(f"if: {exc}", where, rule=GUARD_RULE) from exc
        return raw

    def actions(self, data: dict[str, Any]) -> dict[str, tuple[ActionSpec, ...]]:
        raw = data.get("actions")
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise self.error("actions: must map each state to a list of actions", ("actions",))
        result: dict[str, tuple[ActionSpec, ...]] = {}
        for state, items in raw.items():
            at: YamlPath = ("actions", str(state))
            if items is None:
                result[str(state)] = ()
                continue
            entries = items if isinstance(items, list) else [items]
            specs = []
            for index, item in enumerate(entries):
                item_at = (*at, index) if isinstance(items, list) else at
                specs.append(self.action(item, item_at))
            result[str(state)] = tuple(specs)
        return result

    def action(self, item: Any, at: YamlPath) -> ActionSpec:
        if not isinstance(item, dict):
            raise self.error(
                f"an action must be a mapping with a 'type' (e.g. {{type: log, message: hi}}), "
                f"got {_describe(item)}",
                at,
            )
        if item.get("type") is None:
            raise self.error("action has no 'type'", at)
        action_type = self.string(item["type"], (*at, "type"), "action type")
        params = item.get("params")
        if params is not None and not isinstance(params, dict):
            raise self.error("params: must be a mapping of action options", (*at, "params"))
        options = {k: v for k, v in item.items() if k not in ("type", "params")}
        options.update(params or {})
        return ActionSpec(action_type, MappingProxyType(options), self.pos(at))

    def events(self, data: dict[str, Any]) -> dict[str, EventSpec]:
        raw = data.get("events")
        if raw is None:
            return {}
        result: dict[str, EventSpec] = {}
        if isinstance(raw, list):
            for index, item in enumerate(raw):
                name = self.string(item, ("events", index), "each entry of events:")
                self.check_timeout(name, ("events", index))
                result[name] = EventSpec(name, position=self.pos(("events", index)))
            return result
        if not isinstance(raw, dict):
            raise self.error("events: must be a list of names or a mapping", ("events",))
        for key, options in raw.items():
            name = str(key)
            at: YamlPath = ("events", name)
            self.check_timeout(name, at)
            context_map: dict[str, str] = {}
            if options is not None:
                if not isinstance(options, dict):
                    raise self.error(f"options of event {name!r} must be a mapping", at)
                self.check_keys(options, EVENT_KEYS, at, f"the options of event {name!r}")
                mapping = options.get("context_map") or {}
                if not isinstance(mapping, dict):
                    raise self.error(
                        "context_map: must map context keys to payload paths",
                        (*at, "context_map"),
                    )
                for context_key, source in mapping.items():
                    context_map[str(context_key)] = self.string(
                        source, (*at, "context_map", str(context_key)), "a context_map path"
                    )
            result[name] = EventSpec(name, MappingProxyType(context_map), self.pos(at))
        return result

    def check_timeout(self, name: str, at: YamlPath) -> None:
        try:
            parse_timeout(name)
        except MalformedTimeout as exc:
            raise self.error(str(exc), at, rule=MALFORMED_TIMEOUT_RULE) from exc

    def final_states(self, data: dict[str, Any]) -> frozenset[str]:
        raw = data.get("final")
        if raw is None:
            return frozenset()
        items = raw if isinstance(raw, list) else [raw]
        return frozenset(self.string(item, ("final",), "final:") for item in items)

    def groups(self, data: dict[str, Any], states: set[str]) -> dict[str, str]:
        from ._yaml_source import comment_groups

        groups = comment_groups(self.doc, "states")
        raw = data.get("groups")
        if raw is None:
            return groups
        if not isinstance(raw, dict):
            raise self.error("groups: must map a group name to a list of states", ("groups",))
        for group, members in raw.items():
            at: YamlPath = ("groups", str(group))
            if not isinstance(members, list):
                raise self.error(f"group {group!r} must list its states", at)
            for index, member in enumerate(members):
                state = self.string(member, (*at, index), "a group member")
                if state not in states:
                    raise self.error(
                        f"group {group!r} names unknown state {state!r}",
                        (*at, index),
                        rule=UNDEFINED_STATE_RULE,
                    )
                groups[state] = str(group)
        return groups


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return f"{type(value).__name__} {value!r}"

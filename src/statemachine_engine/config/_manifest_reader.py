"""A manifest's text -> the checked :class:`~._manifest.Manifest`.

Pure apart from reading the file and looking at the paths it names: every mistake is a
:class:`~statemachine_engine.errors.ConfigError` at the manifest's ``file:line``, before
anything starts.
"""

from __future__ import annotations

import difflib
import graphlib
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import ConfigError
from ._manifest import (
    DEFAULT_LOG_BYTES,
    DEFAULT_LOG_DIR,
    DEFAULT_LOG_KEEP,
    DEFAULT_MANIFEST,
    HOOKS,
    RESTART_MODES,
    LogSpec,
    MachineSpec,
    Manifest,
    RestartPolicy,
    UiSpec,
)
from ._timeouts import parse_duration
from ._yaml_source import YamlDocument, YamlPath, parse_yaml
from .model import Position

_TOP_KEYS = ("name", "store", "env", "ui", "logs", "machines", *HOOKS)
_MACHINE_KEYS = (
    "config",
    "instances",
    "actions_dir",
    "initial_context",
    "restart",
    "start",
    "in_process",
    "depends_on",
)
_RESTART_KEYS = ("policy", "max_restarts", "within", "backoff", "max_backoff")
_UI_KEYS = ("host", "port", "allow_control", "metrics")
_LOG_KEYS = ("dir", "max_bytes", "keep")


def load_manifest(path: str | Path = DEFAULT_MANIFEST) -> Manifest:
    """Read and check the manifest at ``path``.

    Raises:
        ConfigError: the file is missing or unreadable, or something in it is wrong
            (with its line).
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        missing = (
            f"no manifest here: create {DEFAULT_MANIFEST} (docs/system.md) or name another"
            if file.name == DEFAULT_MANIFEST
            else "manifest not found"
        )
        raise ConfigError(missing, path=str(path)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the manifest: {exc}", path=str(path)) from exc
    return manifest_from_text(text, file.resolve(), shown=str(path))


def manifest_from_text(text: str, path: Path, *, shown: str | None = None) -> Manifest:
    """The manifest written in ``text``, as if read from ``path`` (absolute: relative
    paths in it are resolved from its directory); errors name ``shown`` (default:
    ``path``)."""
    shown = shown or str(path)
    return _Builder(parse_yaml(text, shown), path, shown).build()


class _Builder:
    def __init__(self, doc: YamlDocument, path: Path, shown: str) -> None:
        self.doc = doc
        self.path = path
        self.shown = shown

    def error(self, message: str, at: YamlPath = ()) -> ConfigError:
        line = self.doc.line_of(at) if at else 1
        return ConfigError(message, path=self.shown, line=line, column=self.doc.column_of(at))

    def key_error(self, message: str, at: YamlPath) -> ConfigError:
        """An error about the key ending ``at``: on the key's line, which is the line
        before its value's when the value is a block below it."""
        line = self.doc.line_of(at) or 1
        key = str(at[-1])
        if line > 1 and f"{key}:" not in self.doc.source_lines[line - 1]:
            line -= 1
        return ConfigError(message, path=self.shown, line=line)

    def mapping(self, value: Any, at: YamlPath, keys: tuple[str, ...]) -> dict[str, Any]:
        """``value`` as a mapping whose keys are all among ``keys``."""
        what = ".".join(str(part) for part in at) or "the manifest"
        if not isinstance(value, dict):
            raise self.error(f"{what} must be a mapping, got {_describe(value)}", at)
        for key in value:
            if key not in keys:
                close = difflib.get_close_matches(str(key), keys, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                known = ", ".join(keys)
                raise self.key_error(
                    f"unknown key {key!r} in {what}{hint}; known: {known}", (*at, key)
                )
        return value

    def text(self, value: Any, at: YamlPath) -> str:
        if not isinstance(value, str | int | float) or isinstance(value, bool) or value == "":
            raise self.error(f"{_name(at)} must be a text, got {_describe(value)}", at)
        return str(value)

    def flag(self, value: Any, at: YamlPath) -> bool:
        if not isinstance(value, bool):
            raise self.error(f"{_name(at)} must be true or false, got {_describe(value)}", at)
        return value

    def whole(self, value: Any, at: YamlPath, *, least: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise self.error(
                f"{_name(at)} must be a whole number of at least {least}, got {_describe(value)}",
                at,
            )
        return value

    def seconds(self, value: Any, at: YamlPath) -> float:
        seconds = parse_duration(value)
        if seconds is None:
            raise self.error(
                f"{_name(at)} must be a duration (seconds, or 500ms, 90s, 5m, 2h), "
                f"got {_describe(value)}",
                at,
            )
        return seconds

    def file(self, value: Any, at: YamlPath, *, directory: bool = False) -> Path:
        target = self.path.parent / Path(self.text(value, at)).expanduser()
        kind = "directory" if directory else "file"
        if not (target.is_dir() if directory else target.is_file()):
            found = "not found" if not target.exists() else f"not a {kind}"
            raise self.error(f"{_name(at)}: {value} ({target}) {found}", at)
        return target.resolve()

    # -- the build -------------------------------------------------------------------

    def build(self) -> Manifest:
        data = self.mapping(self.doc.data if self.doc.data is not None else {}, (), _TOP_KEYS)
        if "machines" not in data:
            raise self.error("missing required key 'machines' (the machines of the system)")
        machines = self.machines(data["machines"])
        return Manifest(
            path=self.path,
            name=self.text(data["name"], ("name",)) if "name" in data else self.path.parent.name,
            store=self.store(data["store"]) if data.get("store") is not None else None,
            env=MappingProxyType(self.env(data.get("env") or {})),
            ui=self.ui(data["ui"]) if data.get("ui") is not None else None,
            logs=self.logs(data.get("logs") or {}),
            hooks=MappingProxyType(
                {hook: self.text(data[hook], (hook,)) for hook in HOOKS if hook in data}
            ),
            machines=MappingProxyType(machines),
        )

    def store(self, value: Any) -> str:
        location = self.text(value, ("store",))
        if "://" in location:
            return location
        return str((self.path.parent / Path(location).expanduser()).resolve())

    def env(self, value: Any) -> dict[str, str]:
        if not isinstance(value, dict):
            raise self.error(f"env must be a mapping, got {_describe(value)}", ("env",))
        env = {}
        for key, raw in value.items():
            if not isinstance(key, str) or not key.isidentifier():
                raise self.error(f"env: {key!r} is not a variable name", ("env", key))
            env[key] = self.text(raw, ("env", key))
        return env

    def ui(self, value: Any) -> UiSpec:
        if value is True:
            return UiSpec()
        raw = self.mapping(value, ("ui",), _UI_KEYS)
        spec = UiSpec()
        if "host" in raw:
            spec = spec._replace(host=self.text(raw["host"], ("ui", "host")))
        if "port" in raw:
            port = self.whole(
                raw["port"], ("ui", "port"), least=0
            )  # 0: any free port (status shows it)
            if port > 65535:
                raise self.error(f"ui.port must be at most 65535, got {port}", ("ui", "port"))
            spec = spec._replace(port=port)
        if "allow_control" in raw:
            allow = self.flag(raw["allow_control"], ("ui", "allow_control"))
            spec = spec._replace(allow_control=allow)
        if "metrics" in raw:
            spec = spec._replace(metrics=self.flag(raw["metrics"], ("ui", "metrics")))
        return spec

    def logs(self, value: Any) -> LogSpec:
        raw = self.mapping(value, ("logs",), _LOG_KEYS)
        directory = self.text(raw.get("dir", DEFAULT_LOG_DIR), ("logs", "dir"))
        return LogSpec(
            directory=(self.path.parent / Path(directory).expanduser()).resolve(),
            max_bytes=self.whole(
                raw.get("max_bytes", DEFAULT_LOG_BYTES), ("logs", "max_bytes"), least=1024
            ),
            keep=self.whole(raw.get("keep", DEFAULT_LOG_KEEP), ("logs", "keep"), least=1),
        )

    def machines(self, value: Any) -> dict[str, MachineSpec]:
        at: YamlPath = ("machines",)
        if not isinstance(value, dict) or not value:
            raise self.error(
                f"machines must map each machine's name to its config, got {_describe(value)}",
                at,
            )
        machines = {}
        for name, raw in value.items():
            if not isinstance(name, str) or not name or "/" in name:
                raise self.error(f"machines: {name!r} is not a machine name", (*at, name))
            machines[name] = self.machine(name, raw)
        self.check_dependencies(machines)
        self.check_groups(machines)
        return machines

    def machine(self, name: str, value: Any) -> MachineSpec:
        at: YamlPath = ("machines", name)
        if isinstance(value, str):  # `worker: config/worker.yaml`
            value = {"config": value}
        raw = self.mapping(value, at, _MACHINE_KEYS)
        if "config" not in raw:
            raise self.error(f"machines.{name} needs a config: the machine's YAML file", at)
        spec = MachineSpec(
            name=name,
            config=self.file(raw["config"], (*at, "config")),
            position=Position(self.shown, self.doc.line_of(at), self.doc.column_of(at)),
        )
        if "instances" in raw:
            spec = spec._replace(
                instances=self.whole(raw["instances"], (*at, "instances"), least=1)
            )
        if raw.get("actions_dir") is not None:
            actions = self.file(raw["actions_dir"], (*at, "actions_dir"), directory=True)
            spec = spec._replace(actions_dir=actions)
        if raw.get("initial_context") is not None:
            context = raw["initial_context"]
            if not isinstance(context, dict):
                raise self.error(
                    f"machines.{name}.initial_context must be a mapping, got {_describe(context)}",
                    (*at, "initial_context"),
                )
            spec = spec._replace(initial_context=MappingProxyType(dict(context)))
        if "restart" in raw:
            spec = spec._replace(restart=self.restart(raw["restart"], (*at, "restart")))
        if "start" in raw:
            spec = spec._replace(start=self.flag(raw["start"], (*at, "start")))
        if raw.get("in_process") is not None:
            spec = spec._replace(in_process=self.text(raw["in_process"], (*at, "in_process")))
        if raw.get("depends_on") is not None:
            spec = spec._replace(depends_on=self.names(raw["depends_on"], (*at, "depends_on")))
        return spec

    def restart(self, value: Any, at: YamlPath) -> RestartPolicy:
        if isinstance(value, bool):  # YAML 1.2: `no` is a text, but `false` is not
            value = "always" if value else "no"
        if isinstance(value, str):
            value = {"policy": value}
        raw = self.mapping(value, at, _RESTART_KEYS)
        policy = RestartPolicy()
        if "policy" in raw:
            mode = raw["policy"]
            if mode not in RESTART_MODES:
                choices = ", ".join(RESTART_MODES)
                raise self.error(f"{_name(at)} must be one of {choices}, got {mode!r}", at)
            policy = policy._replace(mode=mode)
        if "max_restarts" in raw:
            most = self.whole(raw["max_restarts"], (*at, "max_restarts"), least=0)
            policy = policy._replace(max_restarts=most)
        seconds = {
            key: self.seconds(raw[key], (*at, key))
            for key in ("within", "backoff", "max_backoff")
            if key in raw
        }
        return policy._replace(
            within=seconds.get("within", policy.within),
            backoff=seconds.get("backoff", policy.backoff),
            max_backoff=seconds.get("max_backoff", policy.max_backoff),
        )

    def names(self, value: Any, at: YamlPath) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.error(f"{_name(at)} must be a list of machine names", at)
        return tuple(value)

    def check_dependencies(self, machines: dict[str, MachineSpec]) -> None:
        for spec in machines.values():
            at: YamlPath = ("machines", spec.name, "depends_on")
            for index, other in enumerate(spec.depends_on):
                if other not in machines:
                    close = difflib.get_close_matches(other, list(machines), n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    raise self.error(
                        f"machines.{spec.name} depends on {other!r}, which is not a machine "
                        f"of this manifest{hint}",
                        (*at, index),
                    )
                if spec.start and not machines[other].start:
                    raise self.error(
                        f"machines.{spec.name} depends on {other!r}, which has start: false "
                        "(it is started by another machine, not by the system)",
                        (*at, index),
                    )
        sorter = graphlib.TopologicalSorter({s.name: s.depends_on for s in machines.values()})
        try:
            sorter.prepare()
        except graphlib.CycleError as exc:
            cycle = list(exc.args[1])
            raise self.error(
                "machines depend on each other in a circle: " + " -> ".join(cycle),
                ("machines", cycle[0], "depends_on"),
            ) from None

    def check_groups(self, machines: dict[str, MachineSpec]) -> None:
        """Machines of one ``in_process`` group share a process: one start, one restart
        policy, one actions directory, one instance each."""
        groups: dict[str, list[MachineSpec]] = {}
        for spec in machines.values():
            if spec.in_process is not None:
                groups.setdefault(spec.in_process, []).append(spec)
        for group, specs in groups.items():
            first = specs[0]
            for spec in specs:
                at: YamlPath = ("machines", spec.name, "in_process")
                if spec.instances != 1:
                    raise self.error(
                        f"machines.{spec.name}: a machine of in_process group {group!r} runs "
                        "one instance (give the group's machines no instances)",
                        at,
                    )
                for field in ("start", "restart", "actions_dir"):
                    if getattr(spec, field) != getattr(first, field):
                        raise self.error(
                            f"machines.{spec.name}: the machines of in_process group "
                            f"{group!r} share one process, so one {field}; "
                            f"{first.name}'s differs",
                            at,
                        )


def _name(at: YamlPath) -> str:
    return ".".join(str(part) for part in at)


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def with_manifests_expanded(paths: Sequence[str]) -> list[str]:
    """``paths`` with each manifest (a file named :data:`DEFAULT_MANIFEST`) replaced by
    the configs it names, each config once: ``statemachine-validate examples/*/*.yaml``
    lints a project's configs whether or not its manifest is among them.

    Raises:
        ConfigError: a manifest that cannot be read or is wrong.
    """
    expanded: list[str] = []
    seen: set[Path] = set()
    for path in paths:
        if Path(path).name == DEFAULT_MANIFEST:
            named = [_shown(spec.config) for spec in load_manifest(path).machines.values()]
        else:
            named = [path]
        for config in named:
            key = Path(config).resolve()
            if key not in seen:
                seen.add(key)
                expanded.append(config)
    return expanded


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)

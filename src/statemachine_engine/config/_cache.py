"""A per-user cache of parsed configs, so that starting a machine skips YAML.

Parsing YAML is the largest part of a machine's start-up (importing PyYAML alone costs
more than the rest of the engine). Machines are started over and over from the same few
files (a controller spawning one process per job, workers restarting), so the validated
model is kept as JSON, like Python keeps ``.pyc`` files: keyed by the file's path, size,
modification time and inode and by the package version, and trusted only when all of
them match. A cache that cannot be read or written is ignored.

The cache lives in ``$STATEMACHINE_CACHE_DIR``, else ``$XDG_CACHE_HOME/statemachine-engine``,
else ``~/.cache/statemachine-engine``, created owner-only. ``STATEMACHINE_CACHE_DIR=off``
disables it.
"""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .._version import __version__
from ..settings import CACHE_DIR_ENV as CACHE_DIR_ENV  # re-exported
from ..settings import cache_dir
from .model import ActionSpec, EventSpec, MachineConfig, Position, Transition

_FORMAT = 4


def _key(path: Path, stat: os.stat_result) -> str:
    return f"{_FORMAT}|{__version__}|{path}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_ino}"


def _entry_path(directory: Path, path: Path) -> Path:
    return directory / f"{path.stem[:40]}-{zlib.crc32(str(path).encode()):08x}.json"


def lookup(path: Path, stat: os.stat_result, display: str) -> MachineConfig | None:
    """The cached model of ``path`` (named ``display`` in messages) if current, else None."""
    directory = cache_dir()
    if directory is None:
        return None
    try:
        raw = json.loads(_entry_path(directory, path).read_bytes())
        if raw.get("key") != _key(path, stat):
            return None
        return _load(raw["config"], display)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store(path: Path, stat: os.stat_result, config: MachineConfig) -> None:
    """Remember ``config`` for ``path``; silently skipped if it cannot be kept exactly."""
    directory = cache_dir()
    if directory is None:
        return
    try:
        dumped = _dump(config)
        text = json.dumps({"key": _key(path, stat), "config": dumped}, ensure_ascii=False)
        if json.loads(text)["config"] != dumped:
            return  # YAML values JSON cannot carry exactly (dates, integer keys, ...)
        _write_private(_entry_path(directory, path), text)
    except (OSError, TypeError, ValueError):
        return


def lookup_annex(config: MachineConfig, kind: str, key: str) -> Any:
    """A value derived from ``config`` and kept beside it (lint findings...), or None.

    Annexes are keyed by the config's content (``source_hash``), not the file's stat,
    plus ``key``, whatever else the value depends on.
    """
    entry = _annex_path(config, kind)
    if entry is None:
        return None
    try:
        raw = json.loads(entry.read_bytes())
        return raw["value"] if raw.get("key") == _annex_key(config, key) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store_annex(config: MachineConfig, kind: str, key: str, value: Any) -> None:
    """Keep ``value`` (JSON) for :func:`lookup_annex`; silently skipped on failure."""
    entry = _annex_path(config, kind)
    if entry is None:
        return
    try:
        text = json.dumps({"key": _annex_key(config, key), "value": value}, ensure_ascii=False)
        _write_private(entry, text)
    except (OSError, TypeError, ValueError):
        return


def _write_private(entry: Path, text: str) -> None:
    """Replace ``entry`` with ``text`` at once (owner-only, its directory made if missing)."""
    entry.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = entry.with_name(f".{entry.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(temporary, entry)


def _annex_path(config: MachineConfig, kind: str) -> Path | None:
    directory = cache_dir()
    if directory is None or config.path is None or config.source_hash is None:
        return None
    path = Path(os.path.abspath(config.path))
    return _entry_path(directory, path).with_suffix(f".{kind}.json")


def _annex_key(config: MachineConfig, key: str) -> str:
    return f"{_FORMAT}|{__version__}|{config.source_hash}|{config.path}|{key}"


def _position(position: Position) -> list[Any]:
    return [position.path, position.line, position.column]


def _dump(config: MachineConfig) -> dict[str, Any]:
    return {
        "name": config.name,
        "initial_state": config.initial_state,
        "states": list(config.states),
        "transitions": [
            [t.source, t.target, t.event, t.timeout, _position(t.position), t.guard]
            for t in config.transitions
        ],
        "actions": {
            state: [[a.type, dict(a.options), _position(a.position)] for a in specs]
            for state, specs in config.actions.items()
        },
        "events": {
            name: [dict(e.context_map), _position(e.position)] for name, e in config.events.items()
        },
        "groups": dict(config.groups),
        "max_times": dict(config.max_times),
        "final_states": sorted(config.final_states),
        "declared_states": config.declared_states,
        "metadata": dict(config.metadata),
        "description": config.description,
        "template": config.template,
        "path": config.path,
        "positions": {key: _position(p) for key, p in config.positions.items()},
        "source_hash": config.source_hash,
    }


def _load(raw: dict[str, Any], display: str) -> MachineConfig:
    def at(position: list[Any]) -> Position:
        return Position(display, position[1], position[2])

    return MachineConfig(
        name=raw["name"],
        initial_state=raw["initial_state"],
        states=tuple(raw["states"]),
        transitions=tuple(
            Transition(source, target, event, timeout, at(position), guard)
            for source, target, event, timeout, position, guard in raw["transitions"]
        ),
        actions=MappingProxyType(
            {
                state: tuple(
                    ActionSpec(kind, MappingProxyType(options), at(position))
                    for kind, options, position in specs
                )
                for state, specs in raw["actions"].items()
            }
        ),
        events=MappingProxyType(
            {
                name: EventSpec(name, MappingProxyType(context_map), at(position))
                for name, (context_map, position) in raw["events"].items()
            }
        ),
        groups=MappingProxyType(raw["groups"]),
        max_times=MappingProxyType(raw["max_times"]),
        final_states=frozenset(raw["final_states"]),
        declared_states=raw["declared_states"],
        metadata=MappingProxyType(raw["metadata"]),
        description=raw["description"],
        template=raw["template"],
        path=display,
        positions=MappingProxyType(
            {key: at(position) for key, position in raw["positions"].items()}
        ),
        source_hash=raw["source_hash"],
    )

"""State diagrams for the UI: the files ``statemachine-diagrams`` wrote, else built now.

``docs/fsm-diagrams/<stem>/`` under the project root holds ``main.mermaid``, one
``<GROUP>.mermaid`` per group and ``metadata.json``. When that folder does not exist,
the config file is found (the one a running machine was started from, else
``<stem>.yaml`` under the project root) and the diagrams are generated from it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from .._jsondata import decode
from ..errors import DiagramNotFound as DiagramNotFound  # re-exported: the older path
from ..errors import DiagramUnavailable as DiagramUnavailable
from ..errors import StateMachineError

DIAGRAMS_DIR = Path("docs") / "fsm-diagrams"
#: A config stem as the API accepts it: no path separators, no leading dot.
_STEM = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$")
_SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", "venv", "site-packages"})
#: How deep below the project root config files are looked for.
MAX_SEARCH_DEPTH = 4
CONFIG_SUFFIXES = (".yaml", ".yml")


def valid_stem(stem: str) -> bool:
    return bool(_STEM.match(stem)) and ".." not in stem


def load_diagrams(stem: str, project_root: Path, config_path: str | None) -> dict[str, Any]:
    """``{"config", "main", "groups", "metadata"}`` for config ``stem``.

    Args:
        stem: the config file's stem (validated here).
        project_root: where ``docs/fsm-diagrams`` and configs are looked up.
        config_path: the config a running machine of this stem was started from.

    Raises:
        DiagramNotFound: neither diagram files nor a config exist for ``stem``.
        DiagramUnavailable: the config cannot be read or drawn.
    """
    if not valid_stem(stem):
        raise DiagramNotFound(f"{stem!r} is not a config name")
    written = _read_written(project_root / DIAGRAMS_DIR / stem, stem)
    if written is not None:
        return written
    path = config_path if config_path and Path(config_path).is_file() else None
    path = path or find_config(project_root, stem)
    if path is None:
        raise DiagramNotFound(
            f"no diagrams for {stem!r}: no {DIAGRAMS_DIR / stem} and no {stem}.yaml "
            f"under {project_root}"
        )
    return _generate(Path(path), stem)


def find_config(project_root: Path, stem: str) -> str | None:
    """The first ``<stem>.yaml`` (or ``.yml``) below ``project_root``, shallowest first."""
    names = {stem + suffix for suffix in CONFIG_SUFFIXES}
    level = [project_root]
    for _ in range(MAX_SEARCH_DEPTH + 1):
        below: list[Path] = []
        for folder in level:
            try:
                entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
            except OSError:
                continue
            for entry in entries:
                if entry.name in names and entry.is_file():
                    return entry.path
                if (
                    entry.is_dir(follow_symlinks=False)
                    and not entry.name.startswith(".")
                    and entry.name not in _SKIPPED_DIRS
                ):
                    below.append(Path(entry.path))
        level = below
    return None


def _read_written(folder: Path, stem: str) -> dict[str, Any] | None:
    try:
        main = (folder / "main.mermaid").read_text(encoding="utf-8")
        metadata = decode((folder / "metadata.json").read_bytes(), what="metadata.json")
    except (OSError, ValueError):  # JSONDataError is a ValueError: too deep, NaN...
        return None
    if not isinstance(metadata, dict):
        return None
    groups: dict[str, str] = {}
    for group in metadata.get("groups") or []:
        name = group.get("name") if isinstance(group, dict) else None
        if not isinstance(name, str) or not valid_stem(name):
            continue
        try:
            groups[name] = (folder / f"{name}.mermaid").read_text(encoding="utf-8")
        except OSError:
            continue
    return {"config": stem, "main": main, "groups": groups, "metadata": metadata}


def _generate(path: Path, stem: str) -> dict[str, Any]:
    from ..config.loader import load_config
    from ..tools.diagrams import build_diagrams

    try:
        config = load_config(path)
        drawn = build_diagrams(config, stem=stem)
    except StateMachineError as exc:
        raise DiagramUnavailable(f"cannot draw {path}: {exc}") from exc
    return {
        "config": stem,
        "main": drawn.main,
        "groups": dict(drawn.groups),
        "metadata": drawn.metadata,
    }

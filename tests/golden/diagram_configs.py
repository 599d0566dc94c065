"""The configs whose diagrams are pinned as golden files, and where their files live."""

from __future__ import annotations

import os
from pathlib import Path

from statemachine_engine.config.loader import load_config
from statemachine_engine.tools.diagrams import DiagramSet, build_diagrams
from tests.conftest import COMPAT_CONFIGS, EXAMPLES

GOLDEN = Path(__file__).resolve().parent
#: ``UPDATE_GOLDEN=1 python -m pytest tests/golden`` rewrites the golden files.
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

#: The examples' machine configs (each multi-machine example's manifest,
#: statemachine-project.yaml, is not one).
EXAMPLE_CONFIGS = sorted(
    p for p in EXAMPLES.glob("*/*.yaml") if p.name != "statemachine-project.yaml"
)
GOLDEN_CONFIGS = [*EXAMPLE_CONFIGS, GOLDEN / "configs" / "tricky.yaml"]
COMPAT = sorted(COMPAT_CONFIGS.glob("*.yaml"))


def config_id(path: Path) -> str:
    """``simple_worker/simple_worker``: the config's directory and stem."""
    return f"{path.parent.name}/{path.stem}"


def golden_dir(path: Path) -> Path:
    return GOLDEN / "diagrams" / config_id(path)


def diagrams_of(path: Path) -> DiagramSet:
    return build_diagrams(load_config(path, use_cache=False), stem=path.stem)

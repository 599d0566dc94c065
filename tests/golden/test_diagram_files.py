"""The generated files of every example are pinned byte for byte.

After an intended change: ``UPDATE_GOLDEN=1 python -m pytest tests/golden`` rewrites
``tests/golden/diagrams/``; review the diff and commit it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from statemachine_engine.tools.diagrams.cli import output_files
from statemachine_engine.tools.lint import lint_paths
from tests.golden.diagram_configs import (
    COMPAT,
    GOLDEN_CONFIGS,
    UPDATE,
    config_id,
    diagrams_of,
    golden_dir,
)


def _write_golden(directory: Path, files: dict[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.iterdir():
        if stale.name not in files:
            stale.unlink()
    for name, content in files.items():
        (directory / name).write_bytes(content.encode("utf-8"))


@pytest.mark.parametrize("path", GOLDEN_CONFIGS, ids=config_id)
def test_diagram_files_match_the_golden_files(path: Path) -> None:
    files = output_files(diagrams_of(path))
    directory = golden_dir(path)
    if UPDATE:
        _write_golden(directory, files)
    assert directory.is_dir(), f"no golden files: run UPDATE_GOLDEN=1 pytest {__file__}"
    assert sorted(p.name for p in directory.iterdir()) == sorted(files)
    for name, content in files.items():
        assert (directory / name).read_bytes() == content.encode("utf-8"), (
            f"{directory / name} differs; if the change is intended, regenerate with "
            "UPDATE_GOLDEN=1"
        )


@pytest.mark.parametrize("path", COMPAT, ids=config_id)
def test_compat_configs_have_diagrams(path: Path) -> None:
    files = output_files(diagrams_of(path))
    assert files["main.mermaid"].startswith("stateDiagram-v2\n")
    assert output_files(diagrams_of(path)) == files


def test_there_are_configs_to_check() -> None:
    assert len(GOLDEN_CONFIGS) >= 10
    assert all(result.findings == [] for result in lint_paths([str(GOLDEN_CONFIGS[-1])]))

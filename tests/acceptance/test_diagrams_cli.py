"""``statemachine-diagrams`` / ``statemachine-fsm`` as real processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.golden.diagram_configs import COMPAT, golden_dir
from tests.support.files import write
from tests.support.processes import console_script, run_cli


def script(name: str) -> list[str]:
    found = console_script(name)
    if found is None:
        pytest.fail(f"{name} is not installed beside {name}: pip install -e . first")
    return found


SIMPLE_WORKER = EXAMPLES / "simple_worker" / "simple_worker.yaml"


@pytest.mark.parametrize("name", ["statemachine-diagrams", "statemachine-fsm"])
def test_help(name: str, tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path, argv=script(name))
    assert result.returncode == 0
    assert "--output-dir" in result.stdout
    assert name in result.stdout


def test_writes_the_golden_files_under_docs_fsm_diagrams(tmp_path: Path) -> None:
    result = run_cli(SIMPLE_WORKER, cwd=tmp_path, argv=script("statemachine-diagrams"))
    assert result.returncode == 0, result.stderr
    out = tmp_path / "docs" / "fsm-diagrams" / "simple_worker"
    golden = golden_dir(SIMPLE_WORKER)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in golden.iterdir())
    for file in golden.iterdir():
        assert (out / file.name).read_bytes() == file.read_bytes(), file.name
    assert str(tmp_path) not in (out / "simple_worker_fsm.md").read_text()


def test_output_dir_check_and_stale_group_files(tmp_path: Path) -> None:
    config = write(
        tmp_path / "m.yaml",
        """
        initial_state: a
        states:
          # === ONE ===
          - a
          # === TWO ===
          - completed
        transitions:
          - {from: a, to: completed, event: go}
        """,
    )
    argv = script("statemachine-fsm")
    out = tmp_path / "out"
    never_made = run_cli(config, "-o", out, "--check", cwd=tmp_path, argv=argv)
    assert never_made.returncode == 1
    assert f"missing: {out / 'm' / 'TWO.mermaid'}" in never_made.stderr
    assert run_cli(config, "--output-dir", out, cwd=tmp_path, argv=argv).returncode == 0
    assert (out / "m" / "TWO.mermaid").exists()
    metadata = json.loads((out / "m" / "metadata.json").read_text())
    assert metadata["groups"] == [
        {"name": "ONE", "states": ["a"]},
        {"name": "TWO", "states": ["completed"]},
    ]
    check = run_cli(config, "-o", out, "--check", cwd=tmp_path, argv=argv)
    assert check.returncode == 0, check.stderr

    config.write_text(config.read_text().replace("  # === TWO ===\n", ""))
    check = run_cli(config, "-o", out, "--check", cwd=tmp_path, argv=argv)
    assert check.returncode == 1
    assert f"out of date: {out / 'm' / 'TWO.mermaid'}" in check.stderr
    assert run_cli(config, "-o", out, cwd=tmp_path, argv=argv).returncode == 0
    assert not (out / "m" / "TWO.mermaid").exists()


@pytest.mark.parametrize("path", COMPAT, ids=lambda p: p.stem)
def test_compat_configs(path: Path, tmp_path: Path) -> None:
    result = run_cli(path, "-o", tmp_path, cwd=tmp_path, argv=script("statemachine-diagrams"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / path.stem / "main.mermaid").exists()


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    argv = script("statemachine-diagrams")
    missing = run_cli(tmp_path / "nope.yaml", cwd=tmp_path, argv=argv)
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0
    assert "nope.yaml" in missing.stderr
    assert "config file not found" in missing.stderr
    bad = write(tmp_path / "bad.yaml", "initial_state: a\ntransitions: [\n")
    broken = run_cli(bad, cwd=tmp_path, argv=argv)
    assert broken.returncode == 2
    assert "bad.yaml:" in broken.stderr
    assert "Traceback" not in broken.stderr
    same_stem = write(tmp_path / "other" / "bad.yaml", "initial_state: a\n")
    clash = run_cli(
        same_stem,
        write(tmp_path / "third" / "bad.yaml", "initial_state: b\n"),
        cwd=tmp_path,
        argv=argv,
    )
    assert clash.returncode == 2
    assert run_cli(cwd=tmp_path, argv=argv).returncode == 2

"""The parsed-config cache: used while a file is unchanged, never trusted otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from statemachine_engine.config import _cache as config_cache
from statemachine_engine.config.loader import config_from_text, load_config, source_hash
from statemachine_engine.errors import UnknownActionError

CONFIG = """\
name: cached
initial_state: waiting
metadata: {machine_name: worker}
states:
  # === IDLE ===
  - waiting
  # === BUSY ===
  - working
  - completed
events:
  go: {context_map: {file: payload.file}}
transitions:
  - {from: waiting, to: working, event: go}
  - {from: working, to: completed, event: timeout(2.5)}
  - {from: "*", to: completed, event: stop}
actions:
  working:
    - type: bash
      command: "echo {file}"
      params: {timeout: 5}
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "cached.yaml"
    path.write_text(CONFIG)
    return path


def entries() -> list[Path]:
    directory = config_cache.cache_dir()
    assert directory is not None
    return sorted(directory.glob("*.json")) if directory.exists() else []


def test_cached_model_equals_the_parsed_one(config_file: Path) -> None:
    first = load_config(config_file)
    assert len(entries()) == 1
    second = load_config(config_file)
    assert second == first
    assert second.positions == first.positions
    assert second.transitions[1].position.line == first.transitions[1].position.line
    assert second.source_hash == first.source_hash == source_hash(config_file.read_bytes())
    parsed = config_from_text(CONFIG, path=str(config_file))
    assert second == parsed._replace(source_hash=first.source_hash)


def test_cache_dir_is_private(config_file: Path) -> None:
    load_config(config_file)
    (entry,) = entries()
    assert entry.stat().st_mode & 0o777 == 0o600
    assert entry.parent.stat().st_mode & 0o777 == 0o700


def test_a_changed_file_is_parsed_again(config_file: Path) -> None:
    load_config(config_file)
    config_file.write_text(CONFIG.replace("name: cached", "name: changed  "))
    assert load_config(config_file).name == "changed"


def test_unknown_action_types_are_checked_on_cached_models(config_file: Path) -> None:
    load_config(config_file)
    with pytest.raises(UnknownActionError) as info:
        load_config(config_file, is_known_action=lambda kind: kind != "bash")
    assert (info.value.path, info.value.line) == (str(config_file), 18)


def test_a_corrupt_entry_is_ignored(config_file: Path) -> None:
    load_config(config_file)
    (entry,) = entries()
    entry.write_text("{not json")
    assert load_config(config_file).name == "cached"
    assert json.loads(entry.read_text())["config"]["name"] == "cached"  # rewritten


def test_values_json_cannot_carry_are_not_cached(tmp_path: Path) -> None:
    path = tmp_path / "dated.yaml"
    path.write_text(CONFIG + "      error_mappings: {1: failed}\n")
    config = load_config(path)
    assert dict(config.actions["working"][0].options["error_mappings"]) == {1: "failed"}
    assert entries() == []
    assert load_config(path) == config


def test_off_disables_the_cache(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config_cache.CACHE_DIR_ENV, "off")
    assert config_cache.cache_dir() is None
    load_config(config_file)
    load_config(config_file, use_cache=False)


def test_a_cached_load_does_not_import_yaml(config_file: Path) -> None:
    load_config(config_file)
    code = textwrap.dedent(
        f"""
        import sys
        from statemachine_engine.config.loader import load_config
        load_config({str(config_file)!r})
        print("yaml" in sys.modules)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, check=True
    )
    assert result.stdout.strip() == "False"

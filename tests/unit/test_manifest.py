"""A system's manifest: read into a checked model; every mistake at its file:line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from statemachine_engine.config._timeouts import parse_duration
from statemachine_engine.errors import ConfigError
from statemachine_engine.system import (
    DEFAULT_MANIFEST,
    LogSpec,
    RestartPolicy,
    UiSpec,
    load_manifest,
)

CONFIG = """
name: Worker
initial_state: waiting
states: [waiting, done]
final: [done]
transitions:
  - {from: waiting, to: done, event: stop}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("controller", "worker", "task"):
        (tmp_path / "config").mkdir(exist_ok=True)
        (tmp_path / "config" / f"{name}.yaml").write_text(CONFIG)
    (tmp_path / "actions").mkdir()
    return tmp_path


def manifest_at(project: Path, text: str) -> Path:
    path = project / DEFAULT_MANIFEST
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def error_of(project: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_manifest(manifest_at(project, text))
    return caught.value


def test_the_issue_example_reads_as_written(project: Path) -> None:
    manifest = load_manifest(
        manifest_at(
            project,
            """
            name: invoices
            store: data/pipeline.db
            env: {MODEL: small}
            ui: {port: 3001, allow_control: false}
            machines:
              controller: {config: config/controller.yaml}
              worker:     {config: config/worker.yaml, instances: 4, restart: always}
              task:       {config: config/task.yaml, start: false}
            """,
        )
    )
    assert manifest.name == "invoices"
    assert manifest.store == str(project / "data" / "pipeline.db")
    assert dict(manifest.env) == {"MODEL": "small"}
    assert manifest.ui == UiSpec(port=3001, allow_control=False)
    assert manifest.logs == LogSpec(project / "logs")
    assert list(manifest.machines) == ["controller", "worker", "task"]
    worker = manifest.machines["worker"]
    assert worker.config == project / "config" / "worker.yaml"
    assert worker.instances == 4
    assert worker.restart == RestartPolicy(mode="always")
    assert worker.position.line == 7
    assert manifest.machines["controller"].restart.mode == "on-failure"
    assert not manifest.machines["task"].start
    assert manifest.start_order() == [(manifest.machines["controller"], worker)]


def test_defaults_and_short_forms(project: Path) -> None:
    manifest = load_manifest(
        manifest_at(
            project,
            """
            machines:
              worker: config/worker.yaml
            """,
        )
    )
    assert manifest.name == project.name
    assert manifest.store is None
    assert manifest.ui is None
    assert manifest.hooks == {}
    spec = manifest.machines["worker"]
    assert (spec.instances, spec.start, spec.actions_dir, spec.depends_on) == (1, True, None, ())


def test_everything_a_machine_can_say(project: Path) -> None:
    manifest = load_manifest(
        manifest_at(
            project,
            """
            store: postgresql://u@localhost/db
            ui: true
            logs: {dir: var/log, max_bytes: 4096, keep: 2}
            pre_start: ./migrate.sh
            pre_stop: echo bye
            machines:
              controller:
                config: config/controller.yaml
                actions_dir: actions
                initial_context: {batch: 7}
                restart: {policy: on-failure, max_restarts: 3, within: 2m, backoff: 500ms}
                in_process: front
              worker:
                config: config/worker.yaml
                actions_dir: actions
                restart: {policy: on-failure, max_restarts: 3, within: 2m, backoff: 500ms}
                in_process: front
                depends_on: controller
            """,
        )
    )
    assert manifest.store == "postgresql://u@localhost/db"
    assert manifest.ui == UiSpec()
    assert manifest.logs == LogSpec(project / "var" / "log", 4096, 2)
    assert dict(manifest.hooks) == {"pre_start": "./migrate.sh", "pre_stop": "echo bye"}
    controller = manifest.machines["controller"]
    assert controller.actions_dir == project / "actions"
    assert dict(controller.initial_context) == {"batch": 7}
    assert controller.restart == RestartPolicy("on-failure", 3, 120.0, 0.5, 30.0)
    assert controller.in_process == "front"
    assert manifest.machines["worker"].depends_on == ("controller",)
    assert [[s.name for s in wave] for wave in manifest.start_order()] == [
        ["controller"],
        ["worker"],
    ]


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        (
            "machines:\n  w: {config: config/worker.yaml, instanses: 2}\n",
            2,
            "did you mean 'instances'",
        ),
        ("machines:\n  w: {config: config/nope.yaml}\n", 2, "not found"),
        ("machines:\n  w: {config: config}\n", 2, "not a file"),
        ("machines:\n  w: {instances: 2}\n", 2, "needs a config"),
        ("machines:\n  w:\n    config: config/worker.yaml\n    instances: 0\n", 4, "at least 1"),
        ("machines:\n  w:\n    config: config/worker.yaml\n    restart: sometimes\n", 4, "always"),
        ("machines:\n  w:\n    config: config/worker.yaml\n    start: maybe\n", 4, "true or false"),
        (
            "machines:\n  w:\n    config: config/worker.yaml\n    restart: {within: soon}\n",
            4,
            "duration",
        ),
        (
            "machines:\n  w:\n    config: config/worker.yaml\n    depends_on: [wrker]\n",
            4,
            "'wrker'",
        ),
        (
            "machines:\n  a: {config: config/worker.yaml, depends_on: b}\n"
            "  b: {config: config/task.yaml, depends_on: a}\n",
            2,
            "circle",
        ),
        (
            "machines:\n  a: {config: config/worker.yaml, depends_on: b}\n"
            "  b: {config: config/task.yaml, start: false}\n",
            2,
            "start: false",
        ),
        (
            "machines:\n  a: {config: config/worker.yaml, in_process: g}\n"
            "  b: {config: config/task.yaml, in_process: g, restart: always}\n",
            3,
            "one restart",
        ),
        (
            "machines:\n  w: {config: config/worker.yaml, instances: 2, in_process: g}\n",
            2,
            "one instance",
        ),
        ("ui: {port: 70000}\nmachines: {w: config/worker.yaml}\n", 1, "65535"),
        ("env: {1X: a}\nmachines: {w: config/worker.yaml}\n", 1, "not a variable name"),
        ("machine:\n  w: config/worker.yaml\n", 1, "did you mean 'machines'"),
        (
            "machines:\n  w:\n    config: config/worker.yaml\n    restart:\n      polcy: no\n",
            5,
            "'policy'",
        ),
        ("name: x\n", 1, "missing required key 'machines'"),
        ("machines: []\n", 1, "machines must map"),
        ("- a\n", 1, "must be a mapping"),
        ("machines: {w: config/worker.yaml\n", 2, "invalid YAML"),
    ],
)
def test_mistakes_are_errors_at_their_line(project: Path, text: str, line: int, says: str) -> None:
    error = error_of(project, text)
    assert error.path == str(project / DEFAULT_MANIFEST)
    assert error.line == line, error
    assert says in error.message


def test_a_missing_manifest_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no manifest here: create statemachine-project\.yaml"):
        load_manifest(tmp_path / DEFAULT_MANIFEST)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(30, 30.0), (2.5, 2.5), ("500ms", 0.5), ("90s", 90.0), ("5m", 300.0), ("2h", 7200.0)],
)
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", [-1, "-1s", True, "soon", "1d", None, float("inf")])
def test_not_durations(value: object) -> None:
    assert parse_duration(value) is None


def test_a_manifest_among_configs_stands_for_its_configs(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from statemachine_engine.config._manifest_reader import with_manifests_expanded

    manifest_at(project, "machines:\n  a: config/worker.yaml\n  b: config/task.yaml\n")
    monkeypatch.chdir(project)
    paths = ["config/task.yaml", DEFAULT_MANIFEST, "config/controller.yaml"]
    assert with_manifests_expanded(paths) == [
        "config/task.yaml",
        "config/worker.yaml",
        "config/controller.yaml",
    ]


def test_ui_serves_metrics_unless_the_manifest_says_metrics_false(project: Path) -> None:
    from statemachine_engine.system._ui import ui_command

    machines = "machines:\n  worker: {config: config/worker.yaml}\n"
    served = load_manifest(manifest_at(project, "ui: {port: 0}\n" + machines))
    assert served.ui is not None
    assert served.ui.metrics
    assert "--no-metrics" not in ui_command(served)
    off = load_manifest(manifest_at(project, "ui: {port: 0, metrics: false}\n" + machines))
    assert off.ui == UiSpec(port=0, metrics=False)
    assert "--no-metrics" in ui_command(off)
    assert "ui.metrics" in str(error_of(project, "ui: {metrics: sometimes}\n" + machines))


def test_a_manifest_named_but_missing_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"manifest not found") as caught:
        load_manifest(tmp_path / "elsewhere.yaml")
    assert caught.value.path == str(tmp_path / "elsewhere.yaml")

"""The lint a config passes before its machine starts, and the cache that keeps it cheap."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from statemachine_engine.config.loader import load_config
from statemachine_engine.core._checks.findings import RULES
from statemachine_engine.core._preflight import REFUSING, check_before_start
from statemachine_engine.core.action_loader import ActionLoader
from statemachine_engine.errors import ConfigRefused

WARNED = """\
initial_state: a
transitions:
  - {from: a, to: completed, event: ping}
"""

START = """
import json, logging, sys
from statemachine_engine.core.action_loader import ActionLoader
from statemachine_engine.config.loader import load_config
from statemachine_engine.core._preflight import check_before_start
lines = []
handler = logging.Handler()
handler.emit = lambda record: lines.append(record.getMessage())
logging.getLogger("statemachine_engine.lint").addHandler(handler)
check_before_start([load_config(sys.argv[1])], ActionLoader())
linted = "statemachine_engine.core._checks.rules" in sys.modules
print(json.dumps({"linted": linted, "warnings": lines}))
"""


def start(path: Path) -> dict[str, object]:
    """What a fresh process starting ``path`` does: did it lint, what did it warn."""
    result = subprocess.run(
        [sys.executable, "-c", START, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(result.stdout))


def test_an_unchanged_config_is_not_linted_again_but_still_warns(tmp_path: Path) -> None:
    path = tmp_path / "warned.yaml"
    path.write_text(WARNED)
    first = start(path)
    assert first["linted"] is True
    [warning] = first["warnings"]  # type: ignore[misc]
    assert warning.startswith(f"{path}:3: SM202 warning event 'ping'")
    assert start(path) == {"linted": False, "warnings": [warning]}
    path.write_text(WARNED.replace("ping", "pong"))
    changed = start(path)
    assert changed["linted"] is True
    assert "'pong'" in changed["warnings"][0]  # type: ignore[index]


def test_refusing_errors_are_refused_from_the_cache_too(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text(
        "initial_state: a\nevents: [go]\ntransitions:\n  - {from: a, to: b, event: go}\n"
    )
    for _ in range(2):
        with pytest.raises(ConfigRefused) as refused:
            check_before_start([load_config(path)], ActionLoader())
        assert [line.split(": ", 2)[1][:5] for line in refused.value.lines] == ["SM101"]


def test_configs_started_together_count_the_events_they_send_each_other(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sender = tmp_path / "sender.yaml"
    sender.write_text(
        textwrap.dedent(
            """\
            initial_state: a
            transitions: []
            final: [a]
            actions:
              a:
                - {type: send_event, target_machine: receiver, event_type: ping}
            """
        )
    )
    receiver = tmp_path / "receiver.yaml"
    receiver.write_text(WARNED)
    check_before_start([load_config(sender), load_config(receiver)], ActionLoader())
    assert [r.getMessage() for r in caplog.records if r.name == "statemachine_engine.lint"] == []
    check_before_start([load_config(receiver)], ActionLoader())
    [alone] = [r for r in caplog.records if r.name == "statemachine_engine.lint"]
    assert "SM202 warning event 'ping'" in alone.getMessage()


def test_refusing_codes_are_errors() -> None:
    assert {RULES[code].severity for code in REFUSING} == {"error"}


def test_refusing_codes_are_the_ones_the_docs_and_the_help_name() -> None:
    from statemachine_engine.cli import build_parser
    from tests.conftest import REPO

    validate = (REPO / "docs" / "validate.md").read_text(encoding="utf-8")
    before_start = validate.split("## Before a machine starts")[1].split("\n## ")[0]
    semantics = (REPO / "docs" / "semantics.md").read_text(encoding="utf-8")
    start = semantics.split("## Start")[1].split("\n## ")[0]
    for text in (before_start, start, build_parser().epilog or ""):
        named = set(re.findall(r"SM1\d\d", text))
        assert named >= REFUSING, sorted(REFUSING - named)


def test_an_action_file_that_cannot_be_loaded_is_refused_until_it_is_fixed(
    tmp_path: Path,
) -> None:
    """A host lints before it imports the config's actions: the lint refuses it first."""
    actions = tmp_path / "actions"
    action = actions / "say_action.py"
    actions.mkdir()
    action.write_text("raise SystemExit(3)\n")
    path = tmp_path / "sayer.yaml"
    path.write_text(
        "initial_state: a\ntransitions:\n  - {from: a, to: completed, event: said}\n"
        "actions:\n  a:\n    - {type: say}\n"
    )
    with pytest.raises(ConfigRefused) as refused:
        check_before_start([load_config(path)], ActionLoader(actions))
    assert refused.value.lines == (
        f"{action.resolve()}:1: SM109 error cannot import action 'say': SystemExit: 3; "
        f"state 'a' runs it ({path}:6)",
    )
    action.write_text(SAYER.format(traits="    default_success = 'said'"))
    check_before_start([load_config(path)], ActionLoader(actions))


def test_an_option_its_builtin_action_always_fails_on_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "types3.yaml"
    text = (
        "initial_state: a\ntransitions:\n  - {from: a, to: completed, event: job_done}\n"
        "actions:\n  a:\n    - {type: bash, command: 'true', timeout: TIMEOUT}\n"
    )
    path.write_text(text.replace("TIMEOUT", "ten"))
    with pytest.raises(ConfigRefused) as refused:
        check_before_start([load_config(path)], ActionLoader())
    [line] = refused.value.lines
    assert line.startswith(f"{path}:6: SM110 error bash action in state 'a' fails every time")
    path.write_text(text.replace("TIMEOUT", "0"))  # odd, but it runs: a warning
    check_before_start([load_config(path)], ActionLoader())
    [warned] = [r.getMessage() for r in caplog.records if r.name == "statemachine_engine.lint"]
    assert warned.startswith(f"{path}:6: SM103 error bash action in state 'a': timeout: 0")


def test_a_state_that_only_loops_on_itself_is_warned_about_not_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "sink.yaml"
    path.write_text(
        "initial_state: idle\nevents: [ping]\n"
        "transitions:\n  - {from: idle, to: idle, event: ping}\n"
    )
    check_before_start([load_config(path)], ActionLoader())
    [line] = [r.getMessage() for r in caplog.records if r.name == "statemachine_engine.lint"]
    assert line.startswith(f"{path}:4: SM105 error state 'idle' has no way out")
    path.write_text("initial_state: idle\nstates: [idle]\ntransitions: []\n")
    with pytest.raises(ConfigRefused):
        check_before_start([load_config(path)], ActionLoader())


SAYER = """\
from statemachine_engine.actions import BaseAction


class SayAction(BaseAction):
{traits}
    async def execute(self, context):
        return "said"
"""


def test_a_custom_action_whose_traits_change_is_linted_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The verdict kept for a config depends on what its custom actions declare."""
    actions = tmp_path / "actions"
    actions.mkdir()
    path = tmp_path / "sayer.yaml"
    path.write_text(
        "initial_state: a\ntransitions:\n"
        "  - {from: a, to: completed, event: said}\n"
        "  - {from: a, to: completed, event: unsaid}\n"
        "actions:\n  a:\n    - {type: say}\n"
    )

    def warnings() -> list[str]:
        caplog.clear()
        loader = ActionLoader(actions)  # a new loader imports the file as it is now
        check_before_start([load_config(path, is_known_action=loader.is_known)], loader)
        return [r.getMessage() for r in caplog.records if r.name == "statemachine_engine.lint"]

    (actions / "say_action.py").write_text(SAYER.format(traits="    pass"))
    assert warnings() == []  # undeclared: it may return unsaid
    declared = '    default_success = "said"\n    other_events = {}\n    writes = frozenset()'
    (actions / "say_action.py").write_text(SAYER.format(traits=declared))
    [warning] = warnings()
    assert "SM202 warning event 'unsaid'" in warning
    assert warnings() == [warning]  # from the cache now

"""``{placeholder}`` interpolation and shell rendering (context/interpolation.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statemachine_engine.context.interpolation import (
    MISSING,
    ShellCommand,
    interpolate,
    interpolate_text,
    placeholders,
    render_shell,
    resolve_path,
    shell_command,
    to_text,
)

CONTEXT: dict[str, Any] = {
    "machine_name": "worker",
    "job_id": 42,
    "s": "hi",
    "ratio": 1.5,
    "flag": True,
    "off": False,
    "nothing": None,
    "empty": "",
    "spaced": "  Mixed Case  ",
    "items": ["x", {"k": "v"}, 3],
    "event_data": {"payload": {"user": {"name": "Ada"}, "file": "a b.txt"}},
    "d": {"b": {"c": "deep"}},
}


def it(template: str) -> Any:
    return interpolate_text(template, CONTEXT)


# --- paths --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{s}", "hi"),
        ("{d.b.c}", "deep"),
        ("{event_data.payload.user.name}", "Ada"),
        ("{items.0}", "x"),
        ("{items.1.k}", "v"),
        ("{items.2}", 3),
        ("Hello {event_data.payload.user.name}!", "Hello Ada!"),
        ("{machine_name}-{job_id}", "worker-42"),
        ("no placeholders", "no placeholders"),
        ("", ""),
    ],
)
def test_paths(template: str, expected: Any) -> None:
    assert it(template) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("d.b", {"c": "deep"}),
        ("items.1", {"k": "v"}),
        ("items.9", MISSING),
        ("items.x", MISSING),
        ("s.0", MISSING),  # strings are not indexed
        ("job_id.x", MISSING),
        ("missing", MISSING),
        ("nothing", None),
    ],
)
def test_resolve_path(path: str, expected: Any) -> None:
    assert resolve_path(CONTEXT, path) == expected


def test_missing_is_distinct_from_none() -> None:
    assert resolve_path({"a": None}, "a") is None
    assert resolve_path({}, "a") is MISSING
    assert repr(MISSING) == "MISSING"


# --- a lone placeholder keeps its type -------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{job_id}", 42),
        ("{ratio}", 1.5),
        ("{flag}", True),
        ("{off}", False),
        ("{nothing}", None),
        ("{d}", {"b": {"c": "deep"}}),
        ("{items}", ["x", {"k": "v"}, 3]),
        ("{empty}", ""),
    ],
)
def test_lone_placeholder_keeps_its_type(template: str, expected: Any) -> None:
    value = it(template)
    assert value == expected
    assert type(value) is type(expected)


def test_lone_placeholder_returns_the_same_object() -> None:
    assert it("{items}") is CONTEXT["items"]


def test_placeholder_with_surrounding_text_is_text() -> None:
    assert it(" {job_id}") == " 42"
    assert it("{job_id}{job_id}") == "4242"


# --- what is not a placeholder --------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{missing}",
        "a {missing} b",
        "{d.b.missing}",
        "{items.7}",
        "${s}",
        "${HOME}",
        "{{s}}",
        "{{s}",
        "{s}}",
        "{ s }",
        "{1abc}",
        "{}",
        "{s|}",
        "awk '{print $1}'",
        '{"json": true}',
    ],
)
def test_left_as_written(template: str) -> None:
    assert it(template) == template


def test_unknown_placeholder_stays_while_others_fill() -> None:
    assert it("{s} {missing} {job_id}") == "hi {missing} 42"


def test_shell_variables_and_json_pass_through_around_placeholders() -> None:
    assert it('echo ${HOME} {s} {{"k": 1}}') == 'echo ${HOME} hi {{"k": 1}}'


def test_placeholders_lists_paths_for_linting() -> None:
    assert placeholders("{a} {b.c|json} ${x} {{y}} {items.0|length|default:0}") == [
        "a",
        "b.c",
        "items.0",
    ]


# --- filters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{items|length}", 3),
        ("{s|length}", 2),
        ("{d|length}", 1),
        ("{missing|length|default:0}", 0),
        ("{items|length|default:0}", 3),
        ("{missing|default:0}", 0),
        ("{missing|default:1.5}", 1.5),
        ("{missing|default:true}", True),
        ("{missing|default:null}", None),
        ("{missing|default:abc}", "abc"),
        ("{missing|default:a b}", "a b"),
        ("{missing|default:[1, 2]}", [1, 2]),
        ("{missing|default}", ""),
        ("{nothing|default:5}", 5),
        ("{empty|default:5}", ""),  # only missing and None are defaulted
        ("{off|default:5}", False),
        ("{s|default:x}", "hi"),
        ("{d|json}", '{"b":{"c":"deep"}}'),
        ("{s|json}", '"hi"'),
        ("{nothing|json}", "null"),
        ("{event_data.payload|json}", '{"user":{"name":"Ada"},"file":"a b.txt"}'),
        ("{s|raw}", "hi"),
        ("{job_id|raw}", 42),
        ("{s|upper}", "HI"),
        ("{spaced|upper}", "  MIXED CASE  "),
        ("{spaced|lower}", "  mixed case  "),
        ("{spaced|trim}", "Mixed Case"),
        ("{spaced|trim|lower}", "mixed case"),
        ("{flag|upper}", "TRUE"),
        ("{missing|upper|default:none}", "none"),
        ("n={items|length}", "n=3"),
        ("{d.b|json|length}", 12),  # len('{"c":"deep"}')
    ],
)
def test_filters(template: str, expected: Any) -> None:
    value = it(template)
    assert value == expected
    assert type(value) is type(expected)


def test_json_filter_keeps_unicode() -> None:
    assert interpolate_text("{x|json}", {"x": {"name": "Zoë"}}) == '{"name":"Zoë"}'


@pytest.mark.parametrize(
    "template",
    ["{s|bogus}", "{s|upper|bogus}", "x {s|bogus} y", "{missing|length}", "{job_id|length}"],
)
def test_unknown_filter_or_unfilled_value_leaves_the_placeholder(template: str) -> None:
    assert it(template) == template


# --- recursion ---------------------------------------------------------------------------


def test_interpolate_recurses_into_lists_and_mappings() -> None:
    value = {
        "command": "run {job_id}",
        "args": ["{s}", {"deep": "{d.b.c}"}, 7, None],
        "count": "{items|length}",
        "tuple": ("{job_id}",),
        "keep": True,
        "{s}": "keys are not interpolated",
    }
    assert interpolate(value, CONTEXT) == {
        "command": "run 42",
        "args": ["hi", {"deep": "deep"}, 7, None],
        "count": 3,
        "tuple": [42],
        "keep": True,
        "{s}": "keys are not interpolated",
    }


def test_interpolate_does_not_mutate_its_input() -> None:
    value = {"a": ["{s}"]}
    interpolate(value, CONTEXT)
    assert value == {"a": ["{s}"]}


@pytest.mark.parametrize("value", [1, 2.5, None, True])
def test_interpolate_passes_non_strings_through(value: Any) -> None:
    assert interpolate(value, CONTEXT) is value


# --- to_text -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("s", "s"),
        (None, ""),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (1.5, "1.5"),
        ({"a": [1, "é"]}, '{"a":[1,"é"]}'),
        ([1, None], "[1,null]"),
        ((1, 2), "[1,2]"),
    ],
)
def test_to_text(value: Any, text: str) -> None:
    assert to_text(value) == text


def test_values_inside_text_use_to_text() -> None:
    assert it("{flag}/{nothing}/{d}/{items}") == 'true//{"b":{"c":"deep"}}/["x",{"k":"v"},3]'


# --- render_shell: exact renderings -----------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "value", "rendered"),
    [
        ("echo {v}", "a b", "echo 'a b'"),
        ("echo {v}", "plain", "echo plain"),
        ("echo {v}", "", "echo ''"),
        ("echo {v}", "it's", "echo 'it'\"'\"'s'"),
        ("echo '{v}'", "it's", "echo 'it'\\''s'"),
        ('echo "{v}"', 'a"$b`\\', 'echo "a\\"\\$b\\`\\\\"'),
        ("echo $'{v}'", "a'\\b", "echo $'a\\'\\\\b'"),
        ("echo x # {v}\necho y", "a\nb", "echo x # a b\necho y"),
        ("echo a#{v}", "x y", "echo a#'x y'"),
        ("echo {v|raw}", "$(date)", "echo $(date)"),
        ("echo {missing} {v}", "a b", "echo {missing} 'a b'"),
        ("echo ${HOME} {v}", "a b", "echo ${HOME} 'a b'"),
        ("no placeholders", "x", "no placeholders"),
    ],
)
def test_render_shell_quotes_for_the_position(template: str, value: str, rendered: str) -> None:
    assert render_shell(template, {"v": value}) == rendered


def test_render_shell_quote_false_inserts_verbatim() -> None:
    context = {"v": "a b; $(x) 'q' \"d\""}
    assert render_shell("echo {v} '{v}' \"{v}\"", context, quote=False) == (
        "echo a b; $(x) 'q' \"d\" 'a b; $(x) 'q' \"d\"' \"a b; $(x) 'q' \"d\"\""
    )


def test_render_shell_renders_non_strings_with_to_text() -> None:
    context = {"n": 3, "b": True, "d": {"k": "v"}, "none": None}
    assert render_shell("f {n} {b} {d} {none}", context) == "f 3 true '{\"k\":\"v\"}' ''"


def test_render_shell_applies_filters_before_quoting() -> None:
    context = {"items": [1, 2], "name": "a b"}
    assert render_shell("f {items|length} {name|upper} {x|default:z z}", context) == (
        "f 2 'A B' 'z z'"
    )


# --- render_shell: no injection, checked by bash itself -----------------------------------------

BASH = shutil.which("bash")
needs_bash = pytest.mark.skipif(BASH is None, reason="bash not installed")
# Any text bash can receive in an argument (no NUL).
VALUES = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)))
BASH_SETTINGS = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def bash_output(command: str | ShellCommand) -> str:
    """What bash prints running ``command`` (a prepared one with its values in the env)."""
    assert BASH is not None
    env: dict[str, str] = {}
    if isinstance(command, ShellCommand):
        command, env = command.command, dict(command.env)
    result = subprocess.run(
        [BASH, "-c", command], capture_output=True, timeout=10, check=True, env=env
    )
    return result.stdout.decode("utf-8", "surrogateescape")


SHELL_TEMPLATES = [
    "printf %s {v}",
    "printf %s '{v}'",
    'printf %s "{v}"',
    "printf %s $'{v}'",
    "printf %s pre{v}post",
    "printf %s 'pre'{v}\"post\"",
    "printf %s \"a'b\"{v}'c\"d'",
    "printf %s \\'{v}",
    "true # don't {v}\nprintf %s {v}",
]
EXPECTED = {
    "printf %s pre{v}post": "pre{v}post",
    "printf %s 'pre'{v}\"post\"": "pre{v}post",
    "printf %s \"a'b\"{v}'c\"d'": "a'b{v}c\"d",
    "printf %s \\'{v}": "'{v}",
}


@needs_bash
@pytest.mark.parametrize("template", SHELL_TEMPLATES)
@BASH_SETTINGS
@given(value=VALUES)
def test_bash_prints_the_value_exactly(template: str, value: str) -> None:
    expected = EXPECTED.get(template, "{v}").replace("{v}", value)
    assert bash_output(shell_command(template, {"v": value})) == expected
    # The quoted text shown in logs means the same to bash.
    assert bash_output(render_shell(template, {"v": value})) == expected


@needs_bash
@BASH_SETTINGS
@given(value=VALUES)
def test_no_injection_through_a_comment_placeholder(value: str) -> None:
    template = "printf %s start # {v}\nprintf %s end"
    assert bash_output(shell_command(template, {"v": value})) == "startend"
    assert bash_output(render_shell(template, {"v": value})) == "startend"


@needs_bash
@BASH_SETTINGS
@given(first=VALUES, second=VALUES)
def test_several_values_in_one_command(first: str, second: str) -> None:
    template = "printf '%s|' {a} \"{b}\" '{a}{b}'"
    command = shell_command(template, {"a": first, "b": second})
    assert bash_output(command) == f"{first}|{second}|{first}{second}|"


@needs_bash
def test_raw_values_are_shell_syntax() -> None:
    command = render_shell("printf %s {v|raw}", {"v": "$((6 * 7))"})
    assert command == "printf %s $((6 * 7))"
    assert bash_output(command) == "42"


@needs_bash
def test_quote_false_values_are_shell_syntax() -> None:
    command = render_shell("printf %s {v}", {"v": "'a b'"}, quote=False)
    assert command == "printf %s 'a b'"
    assert bash_output(command) == "a b"


@given(value=VALUES)
def test_raw_is_inserted_verbatim(value: str) -> None:
    assert render_shell("x {v|raw} y", {"v": value}) == f"x {value} y"
    assert render_shell("x '{v}' \"{v}\"", {"v": value}, quote=False) == f"x '{value}' \"{value}\""


# Constructs the position tracking does not model: values passed through the
# environment still cannot run code there.
NESTED_TEMPLATES = [
    "printf %s \"$(printf %s '{v}')\"",
    "cat <<EOF\n{v}\nEOF",
    "printf %s `printf %s {v}`",
]


@needs_bash
@pytest.mark.parametrize("template", NESTED_TEMPLATES)
def test_no_injection_in_nested_constructs(template: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for attack in (
        f"'; touch {marker}; '",
        f"$(touch {marker})",
        f"`touch {marker}`",
        f"\nEOF\ntouch {marker}\ncat <<EOF\n",
    ):
        bash_output(shell_command(template, {"v": attack}))
        assert not marker.exists(), (template, attack)


def test_shell_command_passes_values_through_the_environment() -> None:
    command = shell_command(
        "echo {a} '{b}' \"{c}\" {missing} {d|raw}", {"a": "1", "b": "2", "c": "3", "d": "$HOME"}
    )
    assert command.command == (
        'echo "${_SM_VALUE_1}" \'\'"${_SM_VALUE_2}"\'\' "${_SM_VALUE_3}" {missing} $HOME'
    )
    assert command.env == {"_SM_VALUE_1": "1", "_SM_VALUE_2": "2", "_SM_VALUE_3": "3"}
    assert command.display == "echo 1 '2' \"3\" {missing} $HOME"


def test_shell_command_quote_false_inlines_everything() -> None:
    command = shell_command("echo {a}", {"a": "x y"}, quote=False)
    assert command == ShellCommand("echo x y", {}, "echo x y")

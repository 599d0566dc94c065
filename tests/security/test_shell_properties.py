"""Properties of values in bash commands, checked by real bash through the bash action.

In arithmetic contexts no value ever executes and integers still work; here-documents
receive values exactly as they are. Hypothesis generates the values, mixing arbitrary
text with fragments that would run a command if bash ever evaluated them.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statemachine_engine.actions.builtin.bash_action import BashAction

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
MARKER = os.path.join(tempfile.gettempdir(), f"statemachine-pwned-{os.getpid()}")
# Any text bash can receive (no NUL), and text built to run `touch MARKER`.
TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)))
ATTACKS = st.sampled_from(
    [
        f"a[$(touch {MARKER})]",
        f"x[`touch {MARKER}`]",
        f"1+a[$(touch {MARKER})]",
        f"$(touch {MARKER})",
        f"a[$(touch {MARKER})]+1",
        f"' a[$(touch {MARKER})] '",
        f"b[a[$(touch {MARKER})]]",
    ]
)
HOSTILE = st.one_of(TEXT, ATTACKS, st.builds(lambda a, b, c: a + b + c, TEXT, ATTACKS, TEXT))
INTEGERS = st.one_of(st.integers(-(2**40), 2**40).map(str), st.from_regex(r"\A[+-]?[0-9]{1,12}\Z"))


def run(command: str, **values: Any) -> tuple[str | None, dict[str, Any]]:
    """The event the bash action returns running ``command``, and the context after."""
    context: dict[str, Any] = {"machine_name": "props", **values}
    event = asyncio.run(BashAction({"command": command, "timeout": 20}).execute(context))
    return event, context


# Arithmetic templates, and what each prints for an integer n.
ARITHMETIC = {
    "echo $(( {n} + 1 ))": lambda n: str(n + 1),
    "(( {n} > 0 )) && echo pos || echo nonpos": lambda n: "pos" if n > 0 else "nonpos",
    "let r={n}*2; echo $r": lambda n: str(n * 2),
    "[[ {n} -ge 0 ]] && echo pos || echo neg": lambda n: "pos" if n >= 0 else "neg",
    "[[ 0 -lt {n} ]] && echo pos || echo nonpos": lambda n: "pos" if n > 0 else "nonpos",
    "echo $[ {n} - 1 ]": lambda n: str(n - 1),
    'echo "$(( {n} * 3 ))"': lambda n: str(n * 3),
    "declare -i r={n}; echo $r": lambda n: str(n),
    "a=(); a[{n} % 5 + 5]=x; echo ${!a[*]}": lambda n: str(int(_bash_mod(n, 5)) + 5),
    "a=([{n} % 3 + 3]=x); echo ${!a[*]}": lambda n: str(_bash_mod(n, 3) + 3),
    's=abcdefghij; echo "${s:{n} % 10 + 10:2}"': lambda n: (
        "abcdefghij"[_bash_mod(n, 10) + 10 : _bash_mod(n, 10) + 12]
        if 0 <= _bash_mod(n, 10) + 10 < 10
        else ""
    ),
}


def _bash_mod(n: int, m: int) -> int:
    """``n % m`` as bash computes it (the sign of the dividend)."""
    return -(-n % m) if n < 0 else n % m


@pytest.fixture(autouse=True)
def _no_marker() -> Any:
    if os.path.exists(MARKER):
        os.unlink(MARKER)
    yield
    assert not os.path.exists(MARKER), "a value ran as code"


@pytest.mark.parametrize("template", sorted(ARITHMETIC))
@SETTINGS
@given(value=HOSTILE)
def test_no_value_ever_executes_in_an_arithmetic_context(template: str, value: str) -> None:
    event, context = run(template, n=value)
    assert not os.path.exists(MARKER), (template, value)
    if event == "error" and "placeholder {n}" in context.get("last_error", ""):
        assert "integer literal" in context["last_error"]
    else:
        # Accepted: it can only have been an integer literal.
        assert re.fullmatch(r"[+-]?[0-9]+", value), (value, context)


@pytest.mark.parametrize("template", sorted(ARITHMETIC))
@SETTINGS
@given(value=INTEGERS)
def test_integers_still_work_in_arithmetic_contexts(template: str, value: str) -> None:
    event, context = run(template, n=value)
    assert event == "job_done", context
    assert context["stdout"] == ARITHMETIC[template](int(value))


@SETTINGS
@given(value=HOSTILE)
def test_an_expanded_heredoc_receives_the_value_exactly(value: str) -> None:
    event, context = run("cat <<EOF\n{v}\nEOF", v=value)
    assert event == "job_done", context
    assert context["stdout"] == value.rstrip("\n")


@SETTINGS
@given(value=HOSTILE, strip=st.booleans())
def test_a_literal_heredoc_receives_the_value_or_refuses_it(value: str, strip: bool) -> None:
    operator = "<<-" if strip else "<<"
    event, context = run(f"cat {operator}'END'\n{{v}}\nEND\necho after", v=value)
    if "END" in value:
        assert event == "error"
        assert "placeholder {v}" in context["last_error"]
        return
    assert event == "job_done", context
    body = "\n".join(line.lstrip("\t") for line in value.split("\n")) if strip else value
    assert context["stdout"] == f"{body}\nafter"


@SETTINGS
@given(value=HOSTILE)
def test_values_outside_arithmetic_contexts_are_unchanged(value: str) -> None:
    # The same constructs, where bash does not evaluate the value: any text passes.
    event, context = run('[[ {v} == x ]]; printf %s {v} "${#x}" "${y:-"{v}"}"', v=value)
    assert event == "job_done", context
    assert context["stdout"] == (value + "0" + value).rstrip("\n")


# Where bash reads a value as a variable name, a subscript in it runs as code too.
NAME_CONTEXTS = [
    "a=(1); [[ -v {v} ]]; echo ok",
    "a=(1); test -v {v}; echo ok",
    "printf -v {v} %s 1; echo ok",
    "unset {v}; echo ok",
    "read -r {v} <<< 1; echo ok",
    "declare {v}=1; echo ok",
    "mapfile -t {v} < /dev/null; echo ok",
]
NAMES = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,20}\Z")


@pytest.mark.parametrize("template", NAME_CONTEXTS)
@SETTINGS
@given(value=HOSTILE)
def test_no_value_ever_executes_as_a_variable_name(template: str, value: str) -> None:
    event, context = run(template, v=value)
    assert not os.path.exists(MARKER), (template, value)
    if event == "error":
        assert "placeholder {v}" in context["last_error"]
        assert "plain name" in context["last_error"]
    else:
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value), (value, context)


@pytest.mark.parametrize("template", NAME_CONTEXTS)
@SETTINGS
@given(value=NAMES)
def test_plain_names_still_work_as_variable_names(template: str, value: str) -> None:
    if value in ("a", "BASH_ARGV0", "_") or value.startswith("BASH"):
        return  # bash's own variables may be read-only or special
    _, context = run(template, v=value)
    assert context["stdout"].endswith("ok"), context


@pytest.mark.parametrize("size", [10, 200_000])
def test_a_nul_in_a_value_fails_the_action_naming_the_placeholder(size: int) -> None:
    # Small values would not fit the environment, large ones would be cut at the NUL.
    event, context = run("printf %s {v}", v="a" * size + "\x00b")
    assert event == "error"
    assert "placeholder {v}" in context["last_error"]
    assert "NUL" in context["last_error"]

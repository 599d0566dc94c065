"""``{placeholder}`` interpolation from a machine's context. Pure functions.

Syntax: ``{name}``, ``{a.b.c}`` (mapping keys and list indexes), optionally followed by
filters: ``{items|length}``, ``{x|default:0}``, ``{x|length|default:0}``, ``{x|json}``,
``{x|raw}`` (no shell quoting), ``{x|upper}``, ``{x|lower}``, ``{x|trim}``.

- A string that is exactly one placeholder keeps the value's type.
- Placeholders that cannot be filled stay as written.
- ``${VAR}`` and ``{{name}}`` are never placeholders, so shell variables and
  literal braces pass through.
- Values rendered inside text: strings and numbers as themselves, booleans as
  ``true``/``false``, None as an empty string, mappings and lists as compact JSON.

:func:`render_shell` renders a shell command with every inserted value quoted for the
place it lands (bare word, inside ``'...'`` or inside ``"..."``) so that data can never
inject shell syntax; ``|raw`` opts a trusted value out.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, NamedTuple

_PLACEHOLDER = re.compile(
    r"(?<![{$])\{(?P<path>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*)"
    r"(?P<filters>(?:\|[A-Za-z_]+(?::[^|{}]*)?)*)\}(?!\})"
)


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


def resolve_path(context: Mapping[str, Any], path: str) -> Any:
    """Value at dotted ``path`` (mapping keys, list indexes), or :data:`MISSING`."""
    value: Any = context
    for part in path.split("."):
        if isinstance(value, Mapping):
            if part not in value:
                return MISSING
            value = value[part]
        elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
            try:
                value = value[int(part)]
            except (ValueError, IndexError):
                return MISSING
        else:
            return MISSING
    return value


def _parse_literal(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _length(value: Any, _arg: str | None) -> Any:
    try:
        return len(value)
    except TypeError:
        return MISSING


def _default(value: Any, arg: str | None) -> Any:
    if value is MISSING or value is None:
        return _parse_literal(arg) if arg is not None else ""
    return value


def _json(value: Any, _arg: str | None) -> Any:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _text(method: str) -> Callable[[Any, str | None], Any]:
    def apply(value: Any, _arg: str | None) -> Any:
        return getattr(to_text(value), method)()

    return apply


def _identity(value: Any, _arg: str | None) -> Any:
    return value


FILTERS: Final[Mapping[str, Callable[[Any, str | None], Any]]] = {
    "length": _length,
    "default": _default,
    "json": _json,
    "raw": _identity,  # only meaningful for shell rendering
    "upper": _text("upper"),
    "lower": _text("lower"),
    "trim": _text("strip"),
}


def _split_filters(filters: str) -> list[tuple[str, str | None]]:
    parsed: list[tuple[str, str | None]] = []
    for item in filters.split("|")[1:]:
        name, sep, arg = item.partition(":")
        parsed.append((name, arg if sep else None))
    return parsed


def evaluate(match: re.Match[str], context: Mapping[str, Any]) -> Any:
    """Value of one placeholder match, :data:`MISSING` if it cannot be filled."""
    value = resolve_path(context, match["path"])
    for name, arg in _split_filters(match["filters"]):
        apply = FILTERS.get(name)
        if apply is None:
            return MISSING
        if value is MISSING and name != "default":
            continue  # let a later |default fill it
        value = apply(value, arg)
    return value


def to_text(value: Any) -> str:
    """How a value reads when inserted into text."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def interpolate(value: Any, context: Mapping[str, Any]) -> Any:
    """Interpolate ``value`` (strings, and lists/mappings recursively) from ``context``."""
    if isinstance(value, str):
        return interpolate_text(value, context)
    if isinstance(value, Mapping):
        return {key: interpolate(item, context) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [interpolate(item, context) for item in value]
    return value


def interpolate_text(template: str, context: Mapping[str, Any]) -> Any:
    """Interpolate one string; a lone placeholder returns the value with its type."""
    if "{" not in template:
        return template
    lone = _PLACEHOLDER.fullmatch(template)
    if lone is not None:
        value = evaluate(lone, context)
        return template if value is MISSING else value

    def substitute(match: re.Match[str]) -> str:
        value = evaluate(match, context)
        return match[0] if value is MISSING else to_text(value)

    return _PLACEHOLDER.sub(substitute, template)


def placeholders(template: str) -> list[str]:
    """Dotted paths of the placeholders in ``template`` (for linting)."""
    return [match["path"] for match in _PLACEHOLDER.finditer(template)]


# --- shell commands --------------------------------------------------------------

# Where a placeholder lands: a bare word, inside '...', inside "...", inside $'...'
# (ANSI-C quoting, where backslash escapes), or in a # comment (which a newline ends).
_BARE, _SINGLE, _DOUBLE, _ANSI, _COMMENT = 0, 1, 2, 3, 4
_DOUBLE_QUOTED_SPECIALS = re.compile(r'([\\"$`])')
_ANSI_QUOTED_SPECIALS = re.compile(r"([\\'])")
# A # starts a comment only at the start of a word.
_WORD_BREAKS = frozenset(" \t\n;&|()<>")


def _quote_for(state: int, text: str) -> str:
    if state == _SINGLE:
        return text.replace("'", "'\\''")
    if state == _DOUBLE:
        return _DOUBLE_QUOTED_SPECIALS.sub(r"\\\1", text)
    if state == _ANSI:
        return _ANSI_QUOTED_SPECIALS.sub(r"\\\1", text)
    if state == _COMMENT:
        return text.replace("\n", " ")  # a newline would end the comment
    return shlex.quote(text)


def _advance(state: int, segment: str, previous: str) -> tuple[int, str]:
    """Shell quoting state after reading ``segment`` literally, and its last character.

    ``previous`` is the character written just before ``segment`` ("" at the start).
    """
    escaped = False
    for char in segment:
        if escaped:
            escaped = False
            previous = "\\" + char  # neither a word break nor the "$" of $'...'
            continue
        if state == _SINGLE:
            if char == "'":
                state = _BARE
        elif state == _COMMENT:
            if char == "\n":
                state = _BARE
        elif char == "\\":
            escaped = True
        elif state == _ANSI:
            if char == "'":
                state = _BARE
        elif char == '"':
            state = _BARE if state == _DOUBLE else _DOUBLE
        elif char == "'" and state == _BARE:
            state = _ANSI if previous == "$" else _SINGLE
        elif char == "#" and state == _BARE and (not previous or previous in _WORD_BREAKS):
            state = _COMMENT
        previous = char
    return state, previous


class ShellCommand(NamedTuple):
    """A command ready for ``bash -c``.

    Attributes:
        command: the text to run; each value is a reference to a variable of ``env``.
        env: the values, by variable name, to add to the process environment.
        display: the same command with the values written in, quoted (for logs).
    """

    command: str
    env: Mapping[str, str]
    display: str


#: How a reference to variable ``{name}`` is written where a placeholder lands so that
#: the shell expands it to exactly the value, as one word where a word is expected.
_REFERENCE = {
    _BARE: '"${{{name}}}"',
    _DOUBLE: "${{{name}}}",
    _SINGLE: "'\"${{{name}}}\"'",
    _ANSI: "'\"${{{name}}}\"$'",
    _COMMENT: "${{{name}}}",
}
SHELL_VARIABLE_PREFIX = "_SM_VALUE_"


def shell_command(template: str, context: Mapping[str, Any], *, quote: bool = True) -> ShellCommand:
    """Prepare a shell command whose values can never become shell syntax.

    Each value goes into an environment variable and the command refers to it, written
    for where the placeholder lands (bare word, ``'...'``, ``"..."``, ``$'...'``). The
    shell expands a variable without parsing its contents again, so no value, however
    written, can run code; this holds even inside constructs the position tracking
    does not model (backquotes, ``$(...)`` in double quotes, here-documents), where
    at worst the reference is printed literally. ``{x|raw}`` and ``quote=False``
    insert values verbatim, for trusted values that are meant to be shell syntax.
    """
    display = render_shell(template, context, quote=quote)
    if not quote or "{" not in template:
        return ShellCommand(display, {}, display)
    env: dict[str, str] = {}

    def refer(state: int, text: str) -> str:
        name = f"{SHELL_VARIABLE_PREFIX}{len(env) + 1}"
        env[name] = text
        return _REFERENCE[state].format(name=name)

    return ShellCommand(_render(template, context, refer), env, display)


def render_shell(template: str, context: Mapping[str, Any], *, quote: bool = True) -> str:
    """Render a shell command as text, quoting each inserted value for where it lands.

    Used to show commands in logs; :func:`shell_command` prepares the command that runs.

    Args:
        template: the command as written in the config.
        context: the machine's context.
        quote: False inserts every value verbatim (the action's ``quote: false``).
    """
    if "{" not in template:
        return template
    return _render(template, context, _quote_for if quote else _verbatim)


def _verbatim(_state: int, text: str) -> str:
    return text


def _render(template: str, context: Mapping[str, Any], insert: Callable[[int, str], str]) -> str:
    """Fill a shell template; ``insert(state, text)`` writes each value where it lands.

    Placeholders that cannot be filled stay as written and ``{x|raw}`` values are
    inserted verbatim; the quoting state is tracked across everything written.
    """
    out: list[str] = []
    state, previous = _BARE, ""
    last = 0
    for match in _PLACEHOLDER.finditer(template):
        literal = template[last : match.start()]
        state, previous = _advance(state, literal, previous)
        out.append(literal)
        last = match.end()
        value = evaluate(match, context)
        if value is MISSING:
            state, previous = _advance(state, match[0], previous)
            out.append(match[0])
            continue
        text = to_text(value)
        raw = any(name == "raw" for name, _ in _split_filters(match["filters"]))
        inserted = text if raw else insert(state, text)
        out.append(inserted)
        previous = inserted[-1:] or previous
    out.append(template[last:])
    return "".join(out)

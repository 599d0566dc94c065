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
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from .._lazy import lazy_getattr
from ..errors import ShellValueError as ShellValueError  # re-exported: the older import path

__all__ = [
    "MISSING",
    "Landing",  # noqa: F822 - loaded on first use, see __getattr__
    "ShellCommand",  # noqa: F822 - loaded on first use, see __getattr__
    "ShellValueError",
    "interpolate",
    "interpolate_text",
    "placeholders",
    "render_shell",  # noqa: F822 - loaded on first use, see __getattr__
    "resolve_path",
    "shell_command",  # noqa: F822 - loaded on first use, see __getattr__
    "shell_landings",  # noqa: F822 - loaded on first use, see __getattr__
    "to_text",
]

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


# The shell half (quoting for where a value lands) lives in ._shell_render and loads on
# first use: a machine with no bash action never imports the shell lexer.
_shell_half = lazy_getattr(
    __name__,
    {
        name: "statemachine_engine.context._shell_render"
        for name in ("Landing", "ShellCommand", "render_shell", "shell_command", "shell_landings")
    },
)


def __getattr__(name: str) -> Any:
    return _shell_half(name)

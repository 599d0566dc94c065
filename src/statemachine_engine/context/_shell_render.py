"""Shell commands from templates: each inserted value quoted, or passed as a variable,
for where it lands, so that data never becomes shell syntax.

The shell half of ``{placeholder}`` interpolation (:mod:`.interpolation`, which
re-exports these names): it loads the shell lexer, so it is imported only where a bash
command is rendered or linted, not by every machine (docs/performance.md).
"""

# Annotations are evaluated here (no `from __future__ import annotations`): a NamedTuple
# turns string annotations into ForwardRefs, each compiled at import (docs/performance.md).
import re
import shlex
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from ..errors import ShellValueError
from . import _shell_syntax as shell_syntax
from ._shell_lexer import positions
from ._shell_syntax import Position
from .interpolation import _PLACEHOLDER, FILTERS, MISSING, _split_filters, evaluate, to_text

_DOUBLE_QUOTED_SPECIALS = re.compile(r'([\\"$`])')
_HEREDOC_SPECIALS = re.compile(r"([\\$`])")
_ANSI_QUOTED_SPECIALS = re.compile(r"([\\'])")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _quote_for(position: Position, text: str) -> str:
    state = position.state
    if state == shell_syntax.SINGLE:
        return text.replace("'", "'\\''")
    if state == shell_syntax.DOUBLE:
        return _DOUBLE_QUOTED_SPECIALS.sub(r"\\\1", text)
    if state == shell_syntax.ANSI:
        return _ANSI_QUOTED_SPECIALS.sub(r"\\\1", text)
    if state == shell_syntax.COMMENT:
        return text.replace("\n", " ")  # a newline would end the comment
    if state == shell_syntax.HEREDOC:
        return _HEREDOC_SPECIALS.sub(r"\\\1", text)
    if state == shell_syntax.HEREDOC_LITERAL:
        return text
    return shlex.quote(text)


class ShellCommand(NamedTuple):
    """A command ready for ``bash -c``.

    Attributes:
        command: the text to run; each value is a reference to a shell variable.
        env: values, by variable name, to add to the process environment.
        display: the same command with the values written in, quoted (for logs).
        files: values too large for the environment, by the name of the variable
            that must hold the path of a file containing the value; the command
            reads each file into its variable before anything else runs.
    """

    command: str
    env: Mapping[str, str]
    display: str
    files: Mapping[str, str] = {}


#: How a reference to variable ``{name}`` is written where a placeholder lands so that
#: the shell expands it to exactly the value, as one word where a word is expected.
_REFERENCE = {
    shell_syntax.BARE: '"${{{name}}}"',
    shell_syntax.DOUBLE: "${{{name}}}",
    shell_syntax.SINGLE: "'\"${{{name}}}\"'",
    shell_syntax.ANSI: "'\"${{{name}}}\"$'",
    shell_syntax.COMMENT: "${{{name}}}",
    shell_syntax.HEREDOC: "${{{name}}}",
}
SHELL_VARIABLE_PREFIX = "_SM_VALUE_"
SHELL_FILE_PREFIX = "_SM_FILE_"
#: Values longer than this (in bytes) reach bash through a file, not the environment:
#: Linux refuses one environment string over 128 KiB (E2BIG).
LARGE_VALUE_BYTES = 64 * 1024
#: Once the values in the environment add up to this, the next ones go through files.
ENVIRONMENT_BUDGET_BYTES = 512 * 1024


def _check(placeholder: str, position: Position, text: str) -> str | None:
    """The text to write for an arithmetic value (None: not arithmetic); raise if unsafe."""
    if "\x00" in text:
        raise ShellValueError(
            placeholder,
            f"placeholder {placeholder} has a NUL character in its value, "
            "which no bash variable or argument can hold",
        )
    if position.state == shell_syntax.HEREDOC_LITERAL and position.delimiter in text:
        raise ShellValueError(
            placeholder,
            f"placeholder {placeholder} lands in a here-document ended by "
            f"{position.delimiter!r} and its value contains that word; "
            "use an unquoted delimiter or another word",
        )
    if position.name and _NAME.fullmatch(text) is None:
        raise ShellValueError(
            placeholder,
            f"placeholder {placeholder} lands where bash reads a variable name "
            f"({position.name}), where a subscript in the name runs as code; "
            f"it must be a plain name (letters, digits, _), got {_shown(text)!r}",
        )
    if not position.arithmetic:
        return None
    if _INTEGER.fullmatch(text) is None:
        raise ShellValueError(
            placeholder,
            f"placeholder {placeholder} lands in a bash arithmetic context "
            f"({position.arithmetic}), where bash evaluates a value as code; "
            f"it must be an integer literal, got {_shown(text)!r}",
        )
    number = int(text)
    if number < 0 and position.arithmetic not in _BARE_NEGATIVE:
        # "(-5)": "${s:-5}" would be a default value and "1--5" a decrement.
        return f"({number})"
    return str(number)


def _shown(text: str) -> str:
    """``text`` cut to 60 characters for an error message."""
    return text if len(text) <= 60 else text[:57] + "..."


#: Constructs where a negative number is written as it is: their operands are words
#: (parentheses would be shell syntax there).
_BARE_NEGATIVE = frozenset({"let", "declare -i", "[[ -eq/-ne/-lt/-le/-gt/-ge ]]"})


def shell_command(template: str, context: Mapping[str, Any], *, quote: bool = True) -> ShellCommand:
    """Prepare a shell command whose values can never become shell syntax.

    Each value goes into a shell variable and the command refers to it, written for
    where the placeholder lands (bare word, ``'...'``, ``"..."``, ``$'...'``, an
    expanded here-document). The shell expands a variable without parsing its
    contents again, so no value, however written, can run code. Arithmetic contexts
    are the exception bash makes (it evaluates a variable's value as an expression
    there): a value landing in one must be an integer literal and is written as one.
    Values longer than :data:`LARGE_VALUE_BYTES` go through files (see
    :attr:`ShellCommand.files`). ``{x|raw}`` and ``quote=False`` insert values
    verbatim, for trusted values that are meant to be shell syntax.

    Raises:
        ShellValueError: a value that is not an integer in an arithmetic context, or
            that contains the delimiter of the literal here-document it lands in.
    """
    display = render_shell(template, context, quote=quote)
    if not quote or "{" not in template:
        return ShellCommand(display, {}, display)
    env: dict[str, str] = {}
    files: dict[str, str] = {}
    budget = [ENVIRONMENT_BUDGET_BYTES]

    def refer(placeholder: str, position: Position, text: str) -> str:
        checked = _check(placeholder, position, text)
        if checked is not None:
            return checked
        if position.state == shell_syntax.HEREDOC_LITERAL:
            return text
        number = len(env) + len(files) + 1
        name = f"{SHELL_VARIABLE_PREFIX}{number}"
        size = len(text.encode("utf-8", "surrogateescape"))
        if size > LARGE_VALUE_BYTES or size > budget[0]:
            files[f"{SHELL_FILE_PREFIX}{number}"] = text
        else:
            budget[0] -= size
            env[name] = text
        return _REFERENCE[position.state].format(name=name)

    command = _render(template, context, refer)
    if files:
        command = "".join(_read_file(name) for name in files) + command
    return ShellCommand(command, env, display, files)


def _read_file(file_variable: str) -> str:
    """A prefix (on the first line, keeping $LINENO) reading the file named by
    ``$file_variable`` into its value variable,
    exactly (``read -d ''`` stops only at a NUL, which no value holds)."""
    value = SHELL_VARIABLE_PREFIX + file_variable[len(SHELL_FILE_PREFIX) :]
    return f"IFS= read -r -d '' {value} <\"${{{file_variable}}}\"; unset {file_variable}; "


def render_shell(template: str, context: Mapping[str, Any], *, quote: bool = True) -> str:
    """Render a shell command as text, quoting each inserted value for where it lands.

    Used to show commands in logs; :func:`shell_command` prepares the command that runs.

    Args:
        template: the command as written in the config.
        context: the machine's context.
        quote: False inserts every value verbatim (the action's ``quote: false``).

    Raises:
        ShellValueError: as :func:`shell_command`.
    """
    if "{" not in template:
        return template
    if not quote:
        return _render(template, context, _verbatim)

    def show(placeholder: str, position: Position, text: str) -> str:
        checked = _check(placeholder, position, text)
        return checked if checked is not None else _quote_for(position, text)

    return _render(template, context, show)


def _verbatim(_placeholder: str, _position: Position, text: str) -> str:
    return text


def _render(
    template: str, context: Mapping[str, Any], insert: Callable[[str, Position, str], str]
) -> str:
    """Fill a shell template; ``insert(placeholder, position, text)`` writes each value.

    Placeholders that cannot be filled stay as written and ``{x|raw}`` values are
    inserted verbatim: both are read as part of the command when finding where the
    other values land.
    """
    pieces: list[str | shell_syntax.Slot] = []
    slots: list[tuple[str, str]] = []
    last = 0
    for match in _PLACEHOLDER.finditer(template):
        pieces.append(template[last : match.start()])
        last = match.end()
        value = evaluate(match, context)
        if value is MISSING:
            pieces.append(match[0])
            continue
        text = to_text(value)
        if any(name == "raw" for name, _ in _split_filters(match["filters"])):
            pieces.append(text)
            continue
        pieces.append(shell_syntax.SLOT)
        slots.append((match[0], text))
    pieces.append(template[last:])
    if not slots:
        return "".join(p for p in pieces if isinstance(p, str))
    where = iter(positions(shell_syntax.split(pieces)))
    values = iter(slots)
    out: list[str] = []
    for piece in pieces:
        if isinstance(piece, str):
            out.append(piece)
        else:
            placeholder, text = next(values)
            out.append(insert(placeholder, next(where), text))
    return "".join(out)


class Landing(NamedTuple):
    """Where a placeholder of a bash command lands, whatever its value (for linting).

    Attributes:
        placeholder: as written, e.g. ``{n|default:0}``.
        path: its dotted path (``n``).
        filters: the names of its filters, in order.
        position: how bash reads a value written there.
    """

    placeholder: str
    path: str
    filters: tuple[str, ...]
    position: Position


def shell_landings(template: str) -> list[Landing]:
    """Where each placeholder of a bash command lands, read without values.

    ``{x|raw}`` placeholders are not listed (their values, unknown here, are read as
    a plain word), nor those with an unknown filter (they stay as written).
    """
    pieces: list[str | shell_syntax.Slot] = []
    found: list[tuple[str, str, tuple[str, ...]]] = []
    last = 0
    for match in _PLACEHOLDER.finditer(template):
        pieces.append(template[last : match.start()])
        last = match.end()
        filters = tuple(name for name, _ in _split_filters(match["filters"]))
        if "raw" in filters:
            pieces.append("x")
        elif not set(filters) <= FILTERS.keys():
            pieces.append(match[0])
        else:
            pieces.append(shell_syntax.SLOT)
            found.append((match[0], match["path"], filters))
    pieces.append(template[last:])
    where = positions(shell_syntax.split(pieces))
    return [Landing(*item, position) for item, position in zip(found, where, strict=True)]

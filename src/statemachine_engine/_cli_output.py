"""What the console scripts print for ``--format text|json``, written once.

``json``: one indented document per command (:func:`print_json`), or one compact line per
item of a stream (:func:`print_json_line`), UTF-8 as it is (no ``\\u`` escapes), values
JSON cannot hold written as text. ``text``: plain tables (:func:`table`) of cells cut to
:data:`MAX_CELL_WIDTH`, local times as ``YYYY-MM-DD HH:MM:SS`` (:func:`when`) and short
durations (:func:`duration`).

Kept light (``json`` and ``time`` only): every command imports it before it parses its
command line.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any, TypeVar

_Item = TypeVar("_Item")

#: Table cells longer than this are cut (``--format json`` keeps everything).
MAX_CELL_WIDTH = 60
#: How much of a text that cannot be shown whole (an undecodable payload) :func:`cut` keeps.
CUT_SHOWN = 80


def json_text(value: Any, *, sort_keys: bool = False) -> str:
    """``value`` as an indented JSON document."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str, sort_keys=sort_keys)


def print_json(value: Any) -> None:
    """Print ``value`` as an indented JSON document (``--format json``)."""
    print(json_text(value))


def print_json_line(value: Any) -> None:
    """Print ``value`` as one JSON line and flush it (a stream read as it comes)."""
    print(json.dumps(value, ensure_ascii=False, default=str), flush=True)


def compact_json(value: Any) -> str:
    """``value`` as JSON without spaces, for a table cell (empty for nothing)."""
    if value in (None, {}, []):
        return ""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def print_listing(
    output_format: str,
    items: Sequence[_Item],
    *,
    document: Callable[[_Item], Any],
    headers: Sequence[str],
    row: Callable[[_Item], Sequence[str]],
    empty: str,
    right: Collection[int] = (),
) -> None:
    """Print ``items`` as ``--format`` asks: a JSON array of each one's ``document``, or
    a :func:`table` with a ``row`` each (the ``empty`` line when there are none)."""
    if output_format == "json":
        print_json([document(item) for item in items])
    elif not items:
        print(empty)
    else:
        print(table(headers, [row(item) for item in items], right))


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: Collection[int] = ()
) -> str:
    """A plain-text table: columns aligned with two spaces, a dashed rule under the headers.

    Columns whose index is in ``right`` are right-aligned (numbers). Line breaks and tabs
    in a cell become spaces, and cells over :data:`MAX_CELL_WIDTH` are cut.
    """
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        for index, value in enumerate(row):
            widths[index] = max(widths[index], len(value))

    def line(values: Sequence[str]) -> str:
        parts = [
            value.rjust(widths[index]) if index in right else value.ljust(widths[index])
            for index, value in enumerate(values)
        ]
        return "  ".join(parts).rstrip()

    out = [line(headers), "  ".join("-" * width for width in widths)]
    out.extend(line(row) for row in cells)
    return "\n".join(out)


def _cell(value: str) -> str:
    text = " ".join(value.split()) if any(c in value for c in "\n\r\t") else value
    if len(text) > MAX_CELL_WIDTH:
        return text[: MAX_CELL_WIDTH - 3] + "..."
    return text


def cut(text: str) -> str:
    """The start of a text too long to show, saying how long it is."""
    if len(text) <= CUT_SHOWN:
        return text
    return f"{text[:CUT_SHOWN]}... ({len(text)} characters)"


def when(timestamp: float | None) -> str:
    """Epoch seconds as local ``YYYY-MM-DD HH:MM:SS`` (``-`` when unset); a time the
    platform's clock cannot show (a row an older version let in, far ahead) as
    ``out of range (3.6e+17)``, its epoch seconds."""
    if timestamp is None:
        return "-"
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))
    except (OverflowError, OSError, ValueError):
        return f"out of range ({timestamp:g})"


def duration(seconds: float | None) -> str:
    """``42s``, ``3m 5s``, ``2h 10m``, ``1d 4h`` (``-`` when unset)."""
    if seconds is None:
        return "-"
    total = int(seconds)
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return f"{total // 60}m {total % 60}s"
    if total < 86400:
        return f"{total // 3600}h {total % 3600 // 60}m"
    return f"{total // 86400}d {total % 86400 // 3600}h"


def plural(count: int, noun: str) -> str:
    """``noun``, or its plural for any count but one."""
    return noun if count == 1 else noun + "s"


def count(number: int, noun: str) -> str:
    """``1 error``, ``2 errors``."""
    return f"{number} {plural(number, noun)}"


def one_of(words: Sequence[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    return ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else words[0]


class ProgressLine:
    """One line of a terminal's stderr, rewritten as long work goes on (``added
    1500/10000 jobs``); silent when stderr is not a terminal (a log, a pipe)."""

    def __init__(self) -> None:
        self._shown = sys.stderr.isatty()

    def show(self, text: str) -> None:
        if self._shown:
            sys.stderr.write(f"\r{text}")
            sys.stderr.flush()

    def done(self) -> None:
        """Clear the line (the command's result is printed after it)."""
        if self._shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()

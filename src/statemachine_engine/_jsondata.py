"""JSON from outside, decoded and encoded within one set of bounds.

Every JSON text that comes from outside the process or from the store (event payloads,
job data, contexts, control datagrams, API bodies, CLI arguments) is decoded by
:func:`decode`, and every value about to be sent or stored is checked by :func:`check`.
The bounds are the same everywhere:

- nesting depth at most :data:`MAX_DEPTH` levels of arrays/objects (Python's own JSON
  parser would otherwise fail with ``RecursionError`` on ~1,000 levels, and code that
  walks a value later fails even sooner);
- at most :data:`MAX_BYTES` of text (large payloads stay supported);
- strict JSON only: ``NaN``, ``Infinity`` and numbers outside the range of a double
  (``1e400``, or an integer of 309 digits) are refused, so that every value read can be
  written back as valid JSON and read by a browser.

A refusal is a :class:`JSONDataError`: one line, naming what was decoded.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable
from itertools import accumulate
from typing import Any

from .errors import JSONDataError as JSONDataError  # re-exported: the older import path

#: Deepest nesting of arrays and objects accepted in a JSON value.
MAX_DEPTH = 100
#: Deepest nesting read back from the store: its own records (a context holding the last
#: event's payload) wrap values taken in within :data:`MAX_DEPTH`.
STORED_MAX_DEPTH = 2 * MAX_DEPTH
#: Largest JSON text accepted, in bytes (64 MiB).
MAX_BYTES = 64 * 1024 * 1024

# A JSON string (quotes included), written so that the regex engine never backtracks.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# Integers this long may lie beyond a double's range: only then are they parsed one by one.
_LONG_DIGITS = re.compile(r"\d{300}")
#: A surrogate code point, raw or as a ``\uD800``-``\uDFFF`` escape: the text may then
#: decode to a string with a lone surrogate, which is not Unicode text (no UTF-8 store or
#: socket can carry it). A pair written as two escapes is one character, and fine.
_SURROGATE = re.compile(r"[\ud800-\udfff]|\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_PAIRS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


def _refuse_constant(name: str) -> Any:
    raise JSONDataError(f"{name} is not allowed in JSON (strict JSON only)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONDataError(f"number {text[:40]} is out of range")
    return value


def _bounded_int(text: str) -> int:
    value = int(text)
    if abs(value) > sys.float_info.max:
        raise JSONDataError(f"integer of {len(text.lstrip('-'))} digits is out of range")
    return value


def text_depth(text: str, *, limit: int = MAX_DEPTH) -> int:
    """The deepest nesting of arrays and objects in a JSON text (strings ignored).

    A text with at most ``limit`` openers answers their count (an upper bound, enough
    to accept it); otherwise the answer is exact.
    """
    openers = text.count("[") + text.count("{")
    if openers <= limit:
        return openers  # cannot be deeper than that: no need to look closer
    outside_strings = _STRING.sub("", text).encode("utf-8", "surrogatepass")
    brackets = outside_strings.translate(_PAIRS, _NOT_BRACKETS)
    depth = 0
    while brackets and depth <= limit:  # peel off the innermost level each pass
        peeled = brackets.replace(b"[]", b"")
        if len(peeled) == len(brackets):
            break  # unbalanced: not JSON, the parser says why
        brackets, depth = peeled, depth + 1
    if brackets and depth > limit:  # only for texts refused anyway: the exact depth
        steps = brackets.translate(bytes.maketrans(b"[]", b"\x01\xff"))
        depth += max(accumulate(memoryview(steps).cast("b")), default=0)
    return depth


# Made once: json.loads with hooks builds a decoder at every call.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)
_BOUNDED_DECODER = json.JSONDecoder(
    parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_bounded_int
)


def decode(text: str | bytes | bytearray, *, what: str = "JSON", max_depth: int = MAX_DEPTH) -> Any:
    """Decode strict JSON ``text`` within the bounds; :class:`JSONDataError` otherwise.

    Args:
        text: the JSON text (bytes are read as UTF-8).
        what: names the text in the error ("payload", "request body"...).
        max_depth: the nesting bound (the store's own records use :data:`STORED_MAX_DEPTH`).
    """
    if len(text) > MAX_BYTES:  # characters of a str: at least as many bytes
        unit = "characters" if isinstance(text, str) else "bytes"
        raise JSONDataError(f"{what} is too large: {len(text)} {unit} (limit {MAX_BYTES} bytes)")
    if isinstance(text, (bytes, bytearray)):
        try:
            text = text.decode("utf-8")  # straight from a bytearray too: no copy of it first
        except UnicodeDecodeError as exc:
            raise JSONDataError(f"{what} is not UTF-8: {exc.reason} at byte {exc.start}") from None
    if text == "{}":  # most events' payload
        return {}
    depth = text_depth(text, limit=max_depth)
    if depth > max_depth:
        raise JSONDataError(f"{what} is nested {depth} levels deep (limit {max_depth})")
    try:
        if _LONG_DIGITS.search(text) is None:
            value = _DECODER.decode(text)
        else:
            value = _BOUNDED_DECODER.decode(text)
        if _SURROGATE.search(text) is not None:
            _refuse_lone_surrogates(value)
        return value
    except JSONDataError as exc:
        raise JSONDataError(f"{what}: {exc}") from None
    except RecursionError:  # cannot happen within MAX_DEPTH; kept as a safety net
        raise JSONDataError(f"{what} is nested too deep (limit {max_depth})") from None
    except ValueError as exc:
        raise JSONDataError(f"{what} is not valid JSON: {exc}", bounded=False) from None


def _refuse_lone_surrogates(value: Any) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                code = ord(item[exc.start])
                raise JSONDataError(
                    f"holds a lone surrogate (\\u{code:04x}), which is not Unicode text"
                ) from None


def value_depth(value: Any, *, limit: int = MAX_DEPTH) -> int:
    """Nesting depth of lists/tuples/dicts in ``value`` (walked without recursion).

    Stops counting once ``limit`` is passed (returns ``limit + 1``).
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        depth += 1
        if depth > limit:
            return depth
        deepest = max(deepest, depth)
        stack.extend((child, depth) for child in children)
    return deepest


def check(value: Any, *, what: str = "value") -> None:
    """Refuse a value that could not be read back by :func:`decode`.

    Too deep a nesting, ``NaN``/``Infinity`` and integers out of range are refused with
    :class:`JSONDataError`. One walk of the value (it runs for every event sent).
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                raise JSONDataError(f"{what} holds {item!r}, which JSON cannot represent")
        elif isinstance(item, int):
            if abs(item) > sys.float_info.max:
                raise JSONDataError(f"{what} holds an integer out of range")
        elif isinstance(item, (dict, list, tuple)):
            if depth >= MAX_DEPTH:
                raise JSONDataError(f"{what} is nested more than {MAX_DEPTH} levels deep")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


class JSONText(str):
    """JSON text already encoded within the bounds: stored or sent as it is."""

    __slots__ = ()


#: Encoders made once: ``json.dumps`` with any option makes one per call (a third of
#: what it costs for the small values a machine writes at every step).
COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
#: :data:`COMPACT` for values that may hold what JSON has no type for: their ``repr``.
COMPACT_REPR = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), default=repr, allow_nan=False
)
#: :data:`COMPACT` for values that may hold what JSON has no type for: their ``str``.
COMPACT_STR = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


def encoder_made_once(encoder: json.JSONEncoder) -> Callable[[Any], str]:
    """``encoder.encode`` with its C encoder made once, not at every call (a quarter of
    what encoding a realtime event's payload costs). It does not look for circular
    references: one ends in :class:`RecursionError` instead of :class:`ValueError`, and
    so does nesting deeper than Python's recursion limit; callers take both."""
    make = getattr(json.encoder, "c_make_encoder", None)
    indent: object = encoder.indent  # (None unless given, whatever typeshed says)
    if make is None or indent is not None:
        return encoder.encode
    if encoder.ensure_ascii:
        strings = json.encoder.encode_basestring_ascii
    else:
        strings = json.encoder.encode_basestring
    one = make(
        None,
        encoder.default,
        strings,
        None,
        encoder.key_separator,
        encoder.item_separator,
        encoder.sort_keys,
        encoder.skipkeys,
        encoder.allow_nan,
    )

    def encode(value: Any) -> str:
        return "".join(one(value, 0))

    return encode


#: ``COMPACT_REPR.encode`` and ``COMPACT_STR.encode`` (:func:`encoder_made_once`).
encode_compact_repr = encoder_made_once(COMPACT_REPR)
encode_compact_str = encoder_made_once(COMPACT_STR)


def encode(value: Any, *, what: str = "value") -> str:
    """Compact JSON text of ``value`` after :func:`check`; :class:`JSONDataError` otherwise."""
    check(value, what=what)
    try:
        return COMPACT.encode(value)
    except (TypeError, ValueError) as exc:
        raise JSONDataError(f"{what} is not JSON-serialisable: {exc}") from None


def lenient_text(value: Any) -> str:
    """JSON text of ``value`` that is always valid, for what a machine reports about
    itself: unknown types become their text, NaN and infinities null, deep nesting is
    cut at :data:`STORED_MAX_DEPTH`."""
    try:
        check(value)
        return json.dumps(value, ensure_ascii=False, default=str, allow_nan=False)
    except (JSONDataError, ValueError, RecursionError):
        return json.dumps(sanitize(value), ensure_ascii=False, default=str)


def sanitize(value: Any, *, max_depth: int = STORED_MAX_DEPTH) -> Any:
    """``value`` with what JSON cannot hold made safe: non-finite floats become None.

    For texts that must always be valid JSON (API answers, stored contexts). Nesting
    beyond ``max_depth`` is cut (replaced by None).
    """
    return _sanitize(value, 0, max_depth)


def _sanitize(value: Any, depth: int, max_depth: int) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        if depth >= max_depth:
            return None
        return {str(k): _sanitize(v, depth + 1, max_depth) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if depth >= max_depth:
            return None
        return [_sanitize(v, depth + 1, max_depth) for v in value]
    return value

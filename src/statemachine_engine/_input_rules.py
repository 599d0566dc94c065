"""What a name or a whole number given from outside must be before the store takes it.

One definition of each rule, for every door a value comes in by: ``statemachine-db``'s
options, the lines of ``add-job --from``, the ``add_job`` action's options, the
monitoring API's request bodies, and the names machines run under (``statemachine
--machine-name``, a config's ``metadata.machine_name``, a host's ``spawn``). Each rule
returns the value converted, or raises ValueError saying what it must be without naming
it: the caller names it the way its user wrote it (``job_id``, ``argument --type``,
``"type"``). Pure: no I/O.
"""

from __future__ import annotations

import re

#: The whole numbers a 32-bit column holds (``priority`` and ``max_attempts`` are such
#: columns in PostgreSQL); what every whole-number option of ``statemachine-db`` fits.
INT32 = range(-(2**31), 2**31)
#: The whole numbers a 64-bit column holds (rows' ids, in every dialect).
INT64 = range(-(2**63), 2**63)
#: The longest name of a machine (an event's target), an event, a job type or a machine
#: type (the realtime stream and the UI drop names over 256 characters).
MAX_NAME_LENGTH = 200
_WHOLE = re.compile(r"[+-]?\d+", re.ASCII)
#: A NUL character or a lone surrogate (what the JSON escapes ``\u0000`` and ``\ud800``
#: give): no database stores them as text.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f]")
#: Longer digit strings are outside every range here: not converted (converting a long
#: text to an int takes time that grows with the square of its length).
_MOST_DIGITS = 20


def usable_name(value: object, *, longest: int | None = MAX_NAME_LENGTH) -> str:
    """``value`` if it is a usable name: text, not blank, at most ``longest`` characters
    (None: any length), without a NUL character or a lone surrogate (no database stores
    those as text).

    Raises:
        ValueError: it is not.
    """
    if not isinstance(value, str):
        raise ValueError(f"must be text, not {shown(value)}")
    if not value.strip():
        raise ValueError("must not be blank")
    if longest is not None and len(value) > longest:
        raise ValueError(f"must be at most {longest} characters, not {len(value)}")
    if _UNSTORABLE.search(value):
        raise ValueError(
            "holds a NUL character or a lone surrogate (the JSON escapes \\u0000, "
            "\\ud800...), which cannot be stored"
        )
    return value


def usable_machine_name(value: object) -> str:
    """``value`` if it can name a machine: a :func:`usable_name` that also names the
    machine's files (its control socket, its lock) and one line of text (logs,
    ``statemachine-db machine-state``).

    Raises:
        ValueError: it cannot.
    """
    name = usable_name(value)
    if "/" in name:
        raise ValueError("holds '/': a machine's name also names its files (control socket, lock)")
    if _CONTROL.search(name):
        raise ValueError("holds a control character (a newline, a tab, ...)")
    return name


def whole_number(value: object, within: range) -> int:
    """``value`` (an int, or its decimal text) as an int, if it is ``within`` the range.

    Raises:
        ValueError: it is no whole number, or not within the range.
    """
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _WHOLE.fullmatch(text := value.strip()):
        if len(text.lstrip("+-").lstrip("0")) > _MOST_DIGITS:
            raise ValueError(_outside(within, text if len(text) <= 40 else f"{text[:37]}..."))
        number = int(text)
    if number is None:
        raise ValueError(f"must be a whole number, not {shown(value)}")
    if number not in within:
        raise ValueError(_outside(within, str(number)))
    return number


def shown(value: object) -> str:
    """``value`` as a message shows it: short, with its type when that is the point."""
    if isinstance(value, str):
        text = repr(value)
        return text if len(text) <= 60 else f"{text[:57]}...'"
    if isinstance(value, bool) or value is None:
        return str(value).lower() if value is not None else "null"
    if isinstance(value, int | float):
        return repr(value)
    return f"a {'list' if isinstance(value, list | tuple) else type(value).__name__}"


def _outside(within: range, value: str) -> str:
    return f"must be from {within.start} to {within.stop - 1}, not {value}"

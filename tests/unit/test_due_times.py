"""When a delayed event falls due: ``delay:`` durations and ``at:`` ISO 8601 times, as
``send_event``, ``statemachine-db send-event`` and the monitoring API read them."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from statemachine_engine.actions._seconds import parse_seconds
from statemachine_engine.config._due import due_time, parse_time
from statemachine_engine.config._timeouts import MAX_DELAY_SECONDS, parse_duration

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (0, 0.0),
        (30, 30.0),
        ("2.5", 2.5),
        ("500ms", 0.5),
        ("90s", 90.0),
        ("5m", 300.0),
        ("2h", 7200.0),
        ("1h30m", 5400.0),
        ("2m30s", 150.0),
        ("1h0m5s", 3605.0),
        (" 1h30m ", 5400.0),
    ],
)
def test_a_delay_is_a_duration_from_now(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds
    assert due_time(delay=value, now=NOW) == NOW + seconds


@pytest.mark.parametrize(
    "value", ["", "h", "1h 30m", "30m1h", "1.5h30m", "1m30", "1d", "soon", -1, True, [5]]
)
def test_what_is_not_a_delay_says_so(value: object) -> None:
    assert parse_duration(value) is None
    with pytest.raises(ValueError, match=r"delay must be a duration \(seconds, or 90s"):
        due_time(delay=value, now=NOW)


def test_at_is_an_iso_8601_time() -> None:
    utc = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC).timestamp()
    assert due_time(at="2026-12-07T09:00:00+00:00", now=NOW) == utc
    assert due_time(at="2026-12-07T09:00:00Z", now=NOW) == utc
    assert due_time(at="2026-12-07T10:00:00+01:00", now=NOW) == utc
    assert parse_time(dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)) == utc  # as YAML gives it


def test_a_time_without_a_timezone_is_local_time() -> None:
    local = dt.datetime(2026, 12, 7, 9, 0).timestamp()
    assert due_time(at="2026-12-07T09:00:00", now=NOW) == local
    assert due_time(at="2026-12-07 09:00", now=NOW) == local


def test_a_time_past_is_kept_as_it_is() -> None:
    assert due_time(at="2000-01-01T00:00:00Z", now=NOW) == 946684800.0  # delivered at once


@pytest.mark.parametrize("value", ["tomorrow", "2026-13-01T00:00:00", "", 5, None, "9" * 200])
def test_what_is_not_a_time_says_so(value: object) -> None:
    with pytest.raises(ValueError, match="at must be an ISO 8601 time such as 2026-12-07T09"):
        parse_time(value)


def test_a_long_text_is_cut_in_the_message() -> None:
    with pytest.raises(ValueError, match="at must be") as raised:
        parse_time("9" * 200)
    assert len(str(raised.value)) < 200


def test_neither_is_at_once_and_both_is_an_error() -> None:
    assert due_time(now=NOW) is None
    with pytest.raises(ValueError, match="give delay or at, not both"):
        due_time(delay=5, at="2026-12-07T09:00:00Z", now=NOW)


@pytest.mark.parametrize(
    ("given", "refused"),
    [
        ({"delay": 1e300}, "delay"),
        ({"delay": "99999999999999h"}, "delay"),
        ({"delay": MAX_DELAY_SECONDS + 1}, "delay"),
        ({"at": "2200-01-01T00:00:00Z"}, "at"),
    ],
)
def test_a_due_time_beyond_100_years_is_refused(given: dict[str, object], refused: str) -> None:
    """Such a time is no date a listing of the inbox could show."""
    with pytest.raises(
        ValueError, match=re.escape(f"{refused} must be at most 100 years ahead (3155760000 ")
    ):
        due_time(now=NOW, **given)


def test_a_due_time_within_100_years_is_taken() -> None:
    assert due_time(delay=MAX_DELAY_SECONDS, now=NOW) == NOW + MAX_DELAY_SECONDS
    assert due_time(at="2090-01-01T00:00:00Z", now=NOW) == 3786912000.0


def test_action_seconds_accept_durations_with_units() -> None:
    assert parse_seconds("5", "sleep duration") == 5.0
    assert parse_seconds("1m30s", "sleep duration") == 90.0
    with pytest.raises(ValueError, match="must not be negative"):
        parse_seconds(-1, "sleep duration")
    with pytest.raises(ValueError, match=r"sleep duration must be a number of seconds \(or 90s"):
        parse_seconds("soon", "sleep duration")
    with pytest.raises(ValueError, match="must be a number of seconds"):
        parse_seconds([1], "sleep duration")

"""The failures view's grouping: messages normalised, failures grouped and counted."""

from __future__ import annotations

import pytest

from statemachine_engine.monitoring._failure_groups import (
    MAX_MESSAGE,
    NO_MESSAGE,
    group_failures,
    normalise_message,
)


@pytest.mark.parametrize(
    ("message", "normalised"),
    [
        ("disk full on /var/x after 3 tries", "disk full on <path> after <n> tries"),
        (
            "command exited with status 1: cat: /tmp/in_42.txt: No such file or directory",
            "command exited with status <n>: cat: <path>: No such file or directory",
        ),
        ("KeyError: 'file'", "KeyError: <value>"),
        ('value "abc def" is bad', "value <value> is bad"),
        ("job job_3fa9c1d2e4b5 timed out after 30.5s", "job <id> timed out after <n>s"),
        ("HTTP 503 from https://example.org/a?b=1", "HTTP <n> from <url>"),
        ("connection to 10.0.0.3:5432 refused", "connection to <n> refused"),
        ("worker render-12 lost its lease", "worker <id> lost its lease"),
        ("uuid 123e4567-e89b-12d3-a456-426614174000 gone", "uuid <id> gone"),
        ("hash 9f86d081884c7d65 differs", "hash <id> differs"),
        ("failed at ./build/out.o", "failed at <path>"),
        ("C:\\data\\x.txt missing", "<path> missing"),
        ("don't panic", "don't panic"),
        ("a  b\n\tc", "a b c"),
        ("", NO_MESSAGE),
        ("   ", NO_MESSAGE),
        (None, NO_MESSAGE),
    ],
)
def test_normalise_takes_out_numbers_ids_paths_and_quoted_values(
    message: str | None, normalised: str
) -> None:
    assert normalise_message(message) == normalised


def test_messages_of_one_kind_normalise_alike_and_long_ones_are_cut() -> None:
    assert normalise_message("timeout after 30s on job_1a") == normalise_message(
        "timeout after 5s on job_99"
    )
    assert normalise_message("disk full") != normalise_message("disk empty")
    assert len(normalise_message("word " * 500)) == MAX_MESSAGE


def test_groups_count_jobs_and_events_with_first_and_last_seen_and_types() -> None:
    jobs = [
        ("j1", "render", "dead", "disk full on /a", 10.0),
        ("j2", "render", "failed", "disk full on /b", 30.0),
        ("j3", "crawl", "dead", "disk full on /c", 20.0),
        ("j4", "crawl", "dead", "HTTP 500", 40.0),
    ]
    events = [
        ("w1", {"action": "bash", "message": "disk full on /d"}, 5.0),
        ("w2", {"message": 42}, 50.0),
        ("w2", "not a mapping", 51.0),
    ]
    groups = group_failures(jobs, events)
    assert [(g.key, g.jobs, g.events) for g in groups] == [
        ("disk full on <path>", 3, 1),
        (NO_MESSAGE, 0, 2),
        ("HTTP <n>", 1, 0),
    ]
    disk = groups[0].as_dict(sample=2)
    assert disk == {
        "key": "disk full on <path>",
        "example": "disk full on /a",
        "count": 4,
        "jobs": 3,
        "events": 1,
        "statuses": {"dead": 2, "failed": 1},
        "first_seen": 5.0,
        "last_seen": 30.0,
        "job_types": ["crawl", "render"],
        "machines": ["w1"],
        "job_ids": ["j1", "j2"],
    }
    assert groups[0].job_ids == ["j1", "j2", "j3"]

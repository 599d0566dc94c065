"""The failures view's grouping: failed and dead jobs and error events with the same
message once its particulars are taken out (numbers, ids, paths, quoted values). Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

#: A group's key and example are cut to this many characters.
MAX_MESSAGE = 300
NO_MESSAGE = "(no message)"

# Quoted values: 'x', "x", `x` (a quote inside a word, as in "don't", is left).
_QUOTED = re.compile(
    r"""(?<![\w'"`])(?P<quote>['"`])(?:(?!(?P=quote)).){0,200}(?P=quote)(?![\w'"`])"""
)
#: A word with none of these is kept as it is (most words: no regex run over them).
_MAY_HOLD = re.compile(r"[\d/\\:]").search
#: The particulars of a word, in the order tried at each place, named by placeholder.
_PARTS = [
    ("url", r"\b[a-zA-Z][a-zA-Z0-9+.-]*://\S+"),
    # Paths: /a/b, ./a, ~/a, C:\a, at the start of a word or after = : ( [.
    ("path", r"""(?:(?<=[=:(\[])|^)(?:[A-Za-z]:\\|~?\.{0,2}/)[^\s:,;'")\]]*"""),
    ("id", r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"),
    # Ids: hex of 8+ with a digit, or a word joined to digits by - or _ (job_3fa9, w-12).
    ("id", r"\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,}\b"),
    ("id", r"\b[A-Za-z]+[-_](?=[\w-]*\d)[A-Za-z0-9_-]+\b"),
    ("n", r"[-+]?\b\d+(?:[.,:]\d+)*(?:[eE][-+]?\d+)?"),
]
_PARTICULARS = re.compile(
    "|".join(f"(?P<{kind}{i}>{code})" for i, (kind, code) in enumerate(_PARTS))
)
_PLACEHOLDERS = {f"{kind}{i}": f"<{kind}>" for i, (kind, _) in enumerate(_PARTS)}


def _placeholder(match: re.Match[str]) -> str:
    return _PLACEHOLDERS[match.lastgroup or ""]


def normalise_message(message: str | None) -> str:
    """``message`` with its particulars replaced by placeholders, so that messages of
    one kind of failure are equal: ``disk full on /var/x after 3 tries`` ->
    ``disk full on <path> after <n> tries``.
    """
    if message is None or not message.strip():
        return NO_MESSAGE
    text = _QUOTED.sub("<value>", message.strip()[: MAX_MESSAGE * 4])
    words = [
        _PARTICULARS.sub(_placeholder, word) if _MAY_HOLD(word) else word for word in text.split()
    ]
    return " ".join(words)[:MAX_MESSAGE]


@dataclass
class FailureGroup:
    """Failures with one normalised message."""

    key: str
    example: str
    first_seen: float
    last_seen: float
    jobs: int = 0
    events: int = 0
    #: How many of the group's jobs are in each status (failed, dead).
    statuses: dict[str, int] = field(default_factory=dict)
    job_types: set[str] = field(default_factory=set)
    machines: set[str] = field(default_factory=set)
    job_ids: list[str] = field(default_factory=list)

    def seen(self, at: float) -> None:
        self.first_seen = min(self.first_seen, at)
        self.last_seen = max(self.last_seen, at)

    def as_dict(self, *, sample: int = 5) -> dict[str, Any]:
        """The group as the API shows it (``sample`` of its job ids)."""
        return {
            "key": self.key,
            "example": self.example,
            "count": self.jobs + self.events,
            "jobs": self.jobs,
            "events": self.events,
            "statuses": dict(sorted(self.statuses.items())),
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "job_types": sorted(self.job_types),
            "machines": sorted(self.machines),
            "job_ids": self.job_ids[:sample],
        }


def group_failures(
    jobs: Iterable[tuple[str, str, str, str | None, float]],
    events: Iterable[tuple[str, Any, float]],
) -> list[FailureGroup]:
    """Group ``(job_id, job_type, status, error, at)`` of failing jobs and ``(machine,
    payload, at)`` of error events by normalised message; the largest group first (then
    the one seen last)."""
    groups: dict[str, FailureGroup] = {}

    def group_of(message: str | None, at: float) -> FailureGroup:
        key = normalise_message(message)
        found = groups.get(key)
        if found is None:
            example = (message or "").strip()[:MAX_MESSAGE] or NO_MESSAGE
            found = groups[key] = FailureGroup(key, example, at, at)
        found.seen(at)
        return found

    for job_id, job_type, status, error, at in jobs:
        group = group_of(error, at)
        group.jobs += 1
        group.statuses[status] = group.statuses.get(status, 0) + 1
        group.job_types.add(job_type)
        group.job_ids.append(job_id)
    for machine, payload, at in events:
        message = payload.get("message") if isinstance(payload, dict) else None
        group = group_of(message if isinstance(message, str) else None, at)
        group.events += 1
        group.machines.add(machine)
    return sorted(groups.values(), key=lambda g: (-(g.jobs + g.events), -g.last_seen, g.key))

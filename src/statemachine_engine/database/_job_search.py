"""What the job explorer asks of the store: a filter over jobs, a sort and a page
(:class:`JobSearch`), turned into the parameters of the ``job_match`` queries. Pure."""

# Annotations are evaluated here (no `from __future__ import annotations`): a NamedTuple
# turns string annotations into ForwardRefs, each compiled at import (docs/performance.md).
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from ..errors import StoreError
from ._records import Job, JobStatus

#: The columns a search may be sorted by.
SORT_KEYS = ("job_id", "job_type", "status", "attempts", "priority", "created_at", "updated_at")
#: The time a search's ``since``/``until`` window applies to.
TIME_FIELDS = ("updated_at", "created_at")
#: What ``retry`` takes back to the queue, and what ``cancel`` cancels.
RETRYABLE = ("failed", "dead", "cancelled")
CANCELLABLE = ("pending", "processing", "failed")
MAX_PAGE = 10_000
MAX_TEXT = 200


@dataclass(frozen=True)
class JobSearch:
    """A filter over jobs, an order and a page; an empty tuple or None filters nothing.

    Attributes:
        text: a part of a job's id, data (as JSON text) or error, case-sensitive.
        statuses: the statuses to keep.
        job_types: the job types to keep.
        worker: only jobs this machine (a worker) held at some attempt.
        since: only jobs whose ``time_field`` is at or after this (epoch seconds).
        until: only jobs whose ``time_field`` is before this (epoch seconds).
        time_field: ``updated_at`` or ``created_at``.
        job_ids: only these jobs.
        sort: one of :data:`SORT_KEYS`.
        descending: the order of ``sort``.
        offset: how many jobs of the order to skip.
        limit: how many to return (at most :data:`MAX_PAGE`).
    """

    text: str | None = None
    statuses: tuple[str, ...] = ()
    job_types: tuple[str, ...] = ()
    worker: str | None = None
    since: float | None = None
    until: float | None = None
    time_field: str = "updated_at"
    job_ids: tuple[str, ...] = ()
    sort: str = "created_at"
    descending: bool = True
    offset: int = 0
    limit: int = 50

    def __post_init__(self) -> None:
        unknown = sorted(set(self.statuses) - set(JobStatus.ALL))
        if unknown:
            raise StoreError(
                f"unknown job status {', '.join(unknown)}; one of {', '.join(JobStatus.ALL)}"
            )
        if self.sort not in SORT_KEYS:
            raise StoreError(f"cannot sort by {self.sort!r}; one of {', '.join(SORT_KEYS)}")
        if self.time_field not in TIME_FIELDS:
            raise StoreError(f"time must be one of {', '.join(TIME_FIELDS)}")
        if not 0 < self.limit <= MAX_PAGE:
            raise StoreError(f"a page holds 1 to {MAX_PAGE} jobs")
        if self.offset < 0:
            raise StoreError("offset must not be negative")
        if len(self.job_ids) > MAX_PAGE:
            raise StoreError(f"a search names at most {MAX_PAGE} job ids")
        if self.text is not None and len(self.text) > MAX_TEXT:
            raise StoreError(f"search text is longer than {MAX_TEXT} characters")

    @property
    def by_status_only(self) -> bool:
        """Whether the filter keeps jobs by their status alone (or keeps every job)."""
        return not (self.text or self.job_types or self.worker or self.job_ids) and (
            self.since is None and self.until is None
        )

    def only(self, statuses: tuple[str, ...]) -> "JobSearch | None":
        """This filter kept to ``statuses`` (what a bulk change may touch); None when
        it then matches nothing."""
        kept = tuple(s for s in (self.statuses or JobStatus.ALL) if s in statuses)
        return replace(self, statuses=kept) if kept else None

    def match_params(self, *, with_statuses: bool = True) -> dict[str, Any]:
        """The parameters of the ``job_match`` fragment (None: that filter is off)."""
        text = self.text.strip() if self.text else ""
        window: dict[str, float | None] = {
            f"{edge}_{when}": None for edge in ("created", "updated") for when in ("from", "to")
        }
        prefix = self.time_field.removesuffix("_at")
        window[f"{prefix}_from"] = self.since
        window[f"{prefix}_to"] = self.until
        return {
            "text": text or None,
            "job_ids": list(self.job_ids) or None,
            "statuses": (list(self.statuses) or None) if with_statuses else None,
            "job_types": list(self.job_types) or None,
            "worker": self.worker or None,
            **window,
        }

    def page_params(self) -> dict[str, Any]:
        """The parameters of ``search_jobs``: the filter, the order and the page."""
        order: dict[str, bool | None] = {
            f"by_{key}{suffix}": None for key in SORT_KEYS for suffix in ("", "_desc")
        }
        if self.sort != "created_at":  # the id order (see job_order in queries.sql)
            order[f"by_{self.sort}{'_desc' if self.descending else ''}"] = True
        return {
            **self.match_params(),
            **order,
            "ascending": None if self.descending else True,
            "limit": self.limit,
            "offset": self.offset,
        }


class JobPage(NamedTuple):
    """One page of a search: its jobs, how many match, and how many per status (the
    filter without its statuses)."""

    jobs: list[Job]
    total: int
    by_status: dict[str, int]
    #: How many jobs of every status there are, when the filter keeps jobs by status
    #: alone (``by_status`` holds them then; None otherwise: that would be a scan more).
    counts: "dict[str, int] | None"
    #: The machine that last held each job of the page (by job id).
    workers: dict[str, str]


def total_of(by_status: dict[str, int], statuses: tuple[str, ...]) -> int:
    """How many jobs of ``by_status`` have one of ``statuses`` (all when empty)."""
    return sum(n for status, n in by_status.items() if not statuses or status in statuses)

"""Plans that must not depend on the table's statistics: a statement that names its rows
by id finds them by id, even in a prepared statement's generic plan (what psycopg uses
once a statement has run a few times) over a table that filled up since it was analysed.

``id = ANY(list)`` failed this: its generic plan read the whole index of pending events
and compared each with every id of the list (a backlog of 20,000 events drained at 5,300
a second instead of 35,000: docs/performance.md).
"""

from __future__ import annotations

import re

import psycopg
import pytest

from statemachine_engine.database._postgres import PostgresStore
from statemachine_engine.database._queries import load_queries

WAITING = 2_000


def generic_plan(url: str, name: str, params: dict[str, object]) -> str:
    """The generic plan of named query ``name`` with ``params`` (typed from their values)."""
    (statement,), _ = load_queries("postgres")[name].render(params)
    names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", statement)))
    numbered = re.sub(r"%\((\w+)\)s", lambda found: f"${names.index(found[1]) + 1}", statement)
    types = ", ".join(sql_type(params[each]) for each in names)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET plan_cache_mode = force_generic_plan")
        conn.execute(f"PREPARE probe ({types}) AS {numbered}")
        arguments = ", ".join("%s" for _ in names)
        rows = psycopg.ClientCursor(conn).execute(
            f"EXPLAIN EXECUTE probe({arguments})", [params[each] for each in names]
        )
        return "\n".join(row[0] for row in rows.fetchall())


def sql_type(value: object) -> str:
    if isinstance(value, list):
        return "bigint[]"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, float):
        return "double precision"
    return "text"


@pytest.fixture
async def waiting(url: str, store: PostgresStore) -> list[int]:
    """The ids of events waiting in one inbox, added after the table was analysed."""
    await store.send_event("m", "go", source="test")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE machine_events")
        conn.execute(
            "INSERT INTO machine_events (target_machine, event_type, payload, created_at) "
            "SELECT 'm', 'go', '{}', 0 FROM generate_series(1, %s)",
            (WAITING,),
        )
        return [row[0] for row in conn.execute("SELECT id FROM machine_events ORDER BY id")]


def test_events_marked_are_found_by_id(url: str, waiting: list[int]) -> None:
    params = {"ids": waiting[:500], "status": "processed", "now": 1.0, "reason": None}
    plan = generic_plan(url, "mark_events", params)
    assert "machine_events_inbox" not in plan, plan


def test_events_a_machine_consumed_are_found_by_id(url: str, waiting: list[int]) -> None:
    params = {
        "machine_name": "m",
        "state": None,
        "context": None,
        "timers": None,
        "actions_done": False,
        "from_state": None,
        "to_state": None,
        "event": None,
        "job_id": None,
        "at": None,
        "transitions": None,
        "consumed": waiting[:500],
        "dropped": None,
        "now": 1.0,
    }
    plan = generic_plan(url, "save_steps", params)
    assert "machine_events_inbox" not in plan, plan

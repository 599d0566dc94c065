"""A carried write and its carrier as one PostgreSQL statement (database/_postgres_merge)."""

from __future__ import annotations

from statemachine_engine.database._postgres_merge import Merger, merged_text
from statemachine_engine.database._queries import load_queries

QUERIES = load_queries("postgres")


def statement(name: str, **params: object) -> str:
    ((text,), _) = QUERIES[name].render(params)
    return text


STEPS = statement("save_steps", state="s", transitions=[["a", "b", "go", None, "1.0"]])


def test_the_steps_clauses_come_first_their_names_prefixed() -> None:
    text = merged_text(STEPS, statement("complete_job"))
    assert text is not None
    assert text.startswith("WITH carried_steps AS (SELECT 1)\n, carried_state AS (")
    assert "carried_history AS (" in text
    assert "%(carried_machine_name)s" in text
    assert "%(machine_name)s" not in text  # every parameter of the steps is prefixed
    assert "\n, done AS (" in text  # the completion's own clauses, as written
    assert text.endswith("SELECT attempts FROM done")


def test_the_parameters_of_both_are_bound_apart() -> None:
    merged = Merger().merge(
        (STEPS, {"machine_name": "worker", "now": 1.0}),
        ("WITH x AS (SELECT 1) SELECT %(now)s", {"now": 2.0}),
    )
    assert merged is not None
    _, params = merged
    assert params == {"carried_machine_name": "worker", "carried_now": 1.0, "now": 2.0}


def test_a_write_that_touches_what_the_steps_write_is_not_merged() -> None:
    # One statement's clauses share a snapshot and must not change one row twice.
    assert merged_text(STEPS, "WITH m AS (UPDATE machine_state SET status = 'x') SELECT 1") is None


def test_only_statements_of_with_clauses_merge() -> None:
    assert merged_text(STEPS, statement("insert_event")) is None  # no WITH
    assert merged_text(statement("complete_job"), STEPS) is None  # ends in a query of rows

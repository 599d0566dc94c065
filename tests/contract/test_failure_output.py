"""A failure keeps what the failing command printed, in the job's history."""

from __future__ import annotations

from statemachine_engine.database.store import Store


async def test_a_failure_keeps_its_output_in_the_history(store: Store) -> None:
    job = await store.add_job("task", max_attempts=2)
    assert await store.claim_job("task", "w", lease_seconds=30) is not None
    output = {"stdout": "rendering a.txt", "stderr": "disk full \u2603", "exit_code": 3}
    failed = await store.fail_job(job.job_id, "exit 3", worker="w", output=output)
    assert failed is not None
    # Failed by hand (statemachine-db fail): nothing printed.
    assert await store.fail_job(job.job_id, "given up", retry=False) is not None
    history = await store.job_history(job.job_id)
    assert [(h["status"], h["output"]) for h in history] == [
        ("pending", None),
        ("processing", None),
        ("failed", output),
        ("dead", None),
    ]

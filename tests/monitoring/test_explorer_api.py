"""The job explorer's and the failures view's HTTP API on a real server and store:
search, filters, sort and pages with totals; a job's attempts with its workers' errors;
retry and cancel by filter and by failure group, under the control and token rules."""

from __future__ import annotations

from statemachine_engine.database._sqlite import SqliteStore
from tests.support.files import on_store

from .conftest import StartServer


async def fail(store: SqliteStore, job_id: str, worker: str, error: str) -> None:
    assert await store.claim_job_by_id(job_id, worker) is not None
    assert await store.fail_job(job_id, error, worker=worker) is not None


async def some_jobs(store: SqliteStore) -> None:
    """12 renders (3 dead: disk full, 2 dead: timeout) and 5 crawls, one completed."""
    for n in range(12):
        await store.add_job("render", {"frame": n}, job_id=f"r{n:02}", max_attempts=1)
    for n in range(5):
        await store.add_job("crawl", {"url": f"https://example.org/{n}"}, job_id=f"c{n}")
    for n in range(3):
        await fail(store, f"r{n:02}", "renderer-1", f"disk full on /var/render/{n}.png")
    for n in range(3, 5):
        await fail(store, f"r{n:02}", "renderer-2", f"timeout after {n}0s")
    assert await store.claim_job_by_id("c0", "crawler") is not None
    assert await store.complete_job("c0", result={"pages": 3}, worker="crawler")


def test_jobs_are_searched_filtered_sorted_and_paged_with_totals(ui_server: StartServer) -> None:
    on_store(some_jobs)
    server = ui_server()
    first = server.get("/api/jobs", params={"limit": 5, "facets": 1})
    assert (first["total"], len(first["jobs"]), first["offset"]) == (17, 5, 0)
    assert first["sort"] == "-created_at"
    assert first["by_status"] == {"pending": 11, "dead": 5, "completed": 1}
    assert first["types"] == {
        "crawl": {"completed": 1, "pending": 4},
        "render": {"dead": 5, "pending": 7},
    }
    assert first["workers"] == ["crawler", "renderer-1", "renderer-2"]
    last = server.get("/api/jobs", params={"limit": 5, "offset": 15})
    assert [job["job_id"] for job in last["jobs"]] == ["r01", "r00"]

    dead = server.get("/api/jobs", params={"status": "dead", "type": "render", "sort": "job_id"})
    assert [job["job_id"] for job in dead["jobs"]] == ["r00", "r01", "r02", "r03", "r04"]
    assert dead["total"] == 5
    by_worker = server.get("/api/jobs", params={"worker": "renderer-2", "sort": "-job_id"})
    assert [job["job_id"] for job in by_worker["jobs"]] == ["r04", "r03"]
    assert {job["worker"] for job in by_worker["jobs"]} == {"renderer-2"}
    assert "counts" not in by_worker  # a count more: only when asked for
    assert server.get("/api/jobs", params={"worker": "x", "counts": 1})["counts"]["dead"] == 5
    assert first["counts"]["pending"] == 11  # a filter by status alone: counted already
    found = server.get("/api/jobs", params={"q": "example.org/3"})
    assert [job["job_id"] for job in found["jobs"]] == ["c3"]
    assert server.get("/api/jobs", params={"q": "c0"})["jobs"][0]["result"] == {"pages": 3}
    newest = found["jobs"][0]["updated_at"]
    assert server.get("/api/jobs", params={"since": newest + 60})["total"] == 0
    assert server.get("/api/jobs", params={"time": "created", "until": newest + 60})["total"] == 17

    with server.http() as http:
        for params, message in [
            ({"sort": "data"}, "cannot sort by 'data'"),
            ({"status": "dead,weird"}, "unknown job status weird"),
            ({"since": "yesterday"}, "since must be a number"),
            ({"limit": "0"}, "a page holds"),
        ]:
            answer = http.get("/api/jobs", params=params)
            assert answer.status_code == 400, params
            assert message in answer.json()["detail"]


def test_a_job_shows_every_attempt_with_its_worker_and_errors(ui_server: StartServer) -> None:
    async def scenario(store: SqliteStore) -> None:
        await store.add_job("render", {"file": "a.png"}, job_id="j1", max_attempts=2)
        assert await store.claim_job_by_id("j1", "w1") is not None
        await store.record_realtime_events(
            [("w1", "error", {"action": "bash", "state": "render", "message": "exit 3: no a.png"})]
        )
        assert await store.fail_job("j1", "render failed", worker="w1") is not None
        await store.record_realtime_events([("w1", "error", {"message": "after the attempt"})])
        assert await store.retry_job("j1")  # not waiting for its backoff
        assert await store.claim_job_by_id("j1", "w2") is not None

    on_store(scenario)
    server = ui_server()
    job = server.get("/api/jobs/j1")
    assert (job["status"], job["worker"], job["lease_owner"]) == ("processing", "w2", "w2")
    assert job["next_retry"] is None
    assert job["started_at"] is not None
    assert (job["attempts"], job["max_attempts"]) == (1, 2)
    first, second = job["runs"]
    assert (first["worker"], first["outcome"], first["message"]) == (
        "w1",
        "failed",
        "render failed",
    )
    assert first["seconds"] >= 0
    assert [error["message"] for error in first["errors"]] == ["exit 3: no a.png"]
    assert first["errors"][0]["action"] == "bash"
    assert (second["worker"], second["outcome"], second["ended_at"]) == ("w2", None, None)
    assert [row["status"] for row in job["history"]] == [
        "pending",
        "processing",
        "failed",
        "pending",
        "processing",
    ]


def test_bulk_retry_and_cancel_need_control_and_the_token(ui_server: StartServer) -> None:
    on_store(some_jobs)
    viewer = ui_server()
    with viewer.http() as http:
        refused = http.post("/api/jobs/bulk/retry", json={"status": "dead"})
        assert refused.status_code == 403
        assert "--allow-control" in refused.json()["detail"]
    viewer.process.close()

    server = ui_server("--allow-control", "--token", "s3cret")
    token = {"x-statemachine-token": "s3cret"}
    with server.http() as http:
        assert http.post("/api/jobs/bulk/retry", json={"status": "dead"}).status_code == 401
        other_site = http.post(
            "/api/jobs/bulk/retry", json={}, headers={**token, "origin": "http://evil.test"}
        )
        assert other_site.status_code == 403
        filter_ = {"type": "render", "q": "disk full"}
        dry = http.post("/api/jobs/bulk/retry", json={**filter_, "dry_run": True}, headers=token)
        assert dry.json() == {"matched": 3}
        done = http.post("/api/jobs/bulk/retry", json=filter_, headers=token)
        assert done.json() == {"changed": 3}
        counts = http.get("/api/jobs", params={"limit": 1}, headers=token).json()["counts"]
        assert (counts["dead"], counts["pending"]) == (2, 14)
        dry = http.post(
            "/api/jobs/bulk/cancel", json={"type": ["crawl"], "dry_run": True}, headers=token
        )
        assert dry.json() == {"matched": 4}  # not the completed one
        assert http.post("/api/jobs/bulk/cancel", json={"type": "crawl"}, headers=token).json() == {
            "changed": 4
        }
        bad = http.post("/api/jobs/bulk/cancel", json={"status": 3}, headers=token)
        assert bad.status_code == 400


def test_failures_are_grouped_by_message_and_retried_by_group(ui_server: StartServer) -> None:
    async def scenario(store: SqliteStore) -> None:
        await some_jobs(store)
        await store.record_realtime_events(
            [("renderer-1", "error", {"message": "disk full on /tmp/x"})]
        )

    on_store(scenario)
    server = ui_server("--allow-control")
    answer = server.get("/api/failures")
    assert (answer["jobs_read"], answer["events_read"], answer["capped"]) == (5, 1, False)
    disk, timeout = answer["groups"]
    assert disk["key"] == "disk full on <path>"
    assert (disk["count"], disk["jobs"], disk["events"]) == (4, 3, 1)
    assert disk["job_types"] == ["render"]
    assert disk["machines"] == ["renderer-1"]
    assert disk["statuses"] == {"dead": 3}
    assert disk["first_seen"] <= disk["last_seen"]
    assert timeout["key"] == "timeout after <n>s"
    assert timeout["count"] == 2
    with server.http() as http:
        dry = http.post("/api/failures/retry", json={"key": timeout["key"], "dry_run": True})
        assert dry.json() == {"matched": 2}
        assert http.post("/api/failures/retry", json={"key": timeout["key"]}).json() == {
            "changed": 2
        }
        gone = http.post("/api/failures/retry", json={"key": timeout["key"]})
        assert gone.status_code == 404
    assert [g["key"] for g in server.get("/api/failures")["groups"]] == [disk["key"]]
    later = server.get("/api/failures", params={"since": disk["last_seen"] + 60})
    assert later["groups"] == []


def test_openapi_describes_every_field_a_job_has(ui_server: StartServer) -> None:
    on_store(some_jobs)
    server = ui_server()
    described = server.get("/openapi.json")
    paths = described["paths"]
    for path in ("/api/jobs/bulk/retry", "/api/jobs/bulk/cancel", "/api/failures/retry"):
        assert "post" in paths[path]
    assert {p["name"] for p in paths["/api/jobs"]["get"]["parameters"]} >= {
        "q",
        "status",
        "type",
        "worker",
        "since",
        "until",
        "sort",
        "offset",
        "limit",
    }
    job = server.get("/api/jobs", params={"q": "c0"})["jobs"][0]
    assert set(job) == set(described["components"]["schemas"]["Job"]["properties"])
    runs = server.get("/api/jobs/c0")["runs"]
    assert set(runs[0]) == set(described["components"]["schemas"]["Run"]["properties"])

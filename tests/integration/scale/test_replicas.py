"""Two backend replicas (`python -m arkor.server serve`) on one PostgreSQL database, jobs on Ray,
artifacts in one shared folder (`ARKOR_ARTIFACTS_URL`), each replica with its own data dir.

- A job submitted to A, whose worker reports to A, streamed live from B: every event exactly once.
- A replica killed mid-stream: the client resumes on the other with Last-Event-ID, no gap or duplicate.
- Many queued jobs and two dispatching replicas: every job runs once (SKIP LOCKED claims).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
from scale_data import chat_rows
from scale_services import free_port
from server_helpers import Api, events_of
from sqlalchemy import create_engine, text

TINY = "arkor/tiny-test"


def _on(api: Api, url: str) -> Api:
    """The same caller (token, project) talking to another replica."""
    clone = Api.__new__(Api)
    clone.__dict__.update(api.__dict__)
    clone.url = url
    clone.http = httpx.Client(base_url=url, headers=dict(api.http.headers), timeout=30)
    return clone


def _dataset(api: Api) -> dict:
    response = api.http.post(
        "/v1/datasets", params=api.scope, content=chat_rows(16), headers={"X-Arkor-Filename": "t.jsonl"}
    )
    assert response.status_code == 201, response.text
    return {"type": "uploaded", "datasetId": response.json()["datasetId"]}


def _pair(make_replica, pg_database: str, tmp_path: Path, report_to: str):  # type: ignore[no-untyped-def]
    """Replicas A and B; workers (whichever replica launches them) report to `report_to` ("a" or "b")."""
    ports = {"a": free_port(), "b": free_port()}
    shared = {
        "ARKOR_ARTIFACTS_URL": str(tmp_path / "shared-artifacts"),
        "ARKOR_PUBLIC_URL": f"http://127.0.0.1:{ports[report_to]}",
    }
    a = make_replica("a", database_url=pg_database, port=ports["a"], **shared)
    b = make_replica("b", database_url=pg_database, port=ports["b"], **shared)
    return a, b


def test_job_submitted_to_a_is_streamed_live_from_b_exactly_once(make_replica, pg_database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    a, b = _pair(make_replica, pg_database, tmp_path, report_to="a")
    api_a = Api(a.url)
    api_b = _on(api_a, b.url)
    job = api_a.submit(TINY, datasetSource=_dataset(api_a), maxSteps=12, loggingSteps=1, batchSize=2, saveSteps=6)

    frames = api_b.frames(job["id"], timeout=180)  # connected before the job has events: all arrive live
    events = events_of(frames)
    assert [int(f.id) for f in frames if f.event != "end"] == list(range(1, len(events) + 1)), (a.log(), b.log())
    assert events[0]["type"] == "training.started" and events[-1]["type"] == "training.completed"
    assert [e["step"] for e in events if e["type"] == "training.log"] == list(range(1, 13))
    assert frames[-1].event == "end"

    # The worker uploaded to A; B serves the same bytes from the shared store.
    listed = {
        x["pathname"]: x
        for x in api_b.http.get(f"/v1/jobs/{job['id']}/artifacts", params=api_b.scope).json()["artifacts"]
    }
    body = api_b.http.get(f"/v1/jobs/{job['id']}/artifacts/final/adapter_model.safetensors", params=api_b.scope)
    assert body.status_code == 200
    assert hashlib.sha256(body.content).hexdigest() == listed["final/adapter_model.safetensors"]["sha256"]


def test_replica_killed_mid_stream_client_resumes_on_the_other(make_replica, pg_database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    a, b = _pair(make_replica, pg_database, tmp_path, report_to="b")
    api_a = Api(a.url)
    api_b = _on(api_a, b.url)
    job = api_a.submit(TINY, datasetSource=_dataset(api_a), maxSteps=40, loggingSteps=1, batchSize=2)

    before = api_a.frames(job["id"], limit=4, timeout=180)
    a.kill()  # SIGKILL mid-stream; the job lives on Ray and reports to B
    after = api_b.frames(job["id"], last_event_id=int(before[-1].id), timeout=180)

    ids = [int(f.id) for f in before + after if f.event != "end"]
    assert ids == list(range(1, len(ids) + 1)), (ids, b.log())
    events = events_of(before + after)
    assert events[-1]["type"] == "training.completed", b.log()
    assert [e["step"] for e in events if e["type"] == "training.log"] == list(range(1, 41))


def test_two_replicas_never_run_a_job_twice(make_replica, pg_database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    a, b = _pair(make_replica, pg_database, tmp_path, report_to="a")
    api_a = Api(a.url)
    dataset = _dataset(api_a)
    jobs = [api_a.submit(TINY, datasetSource=dataset, dryRun=True, batchSize=2) for _ in range(3)]
    for job in jobs:
        assert api_a.wait_status(job["id"], {"completed", "failed", "cancelled"}, timeout=240)["status"] == "completed"

    engine = create_engine(pg_database)
    with engine.connect() as connection:
        started = connection.execute(
            text("SELECT job_id, count(*) FROM events WHERE type = 'training.started' GROUP BY job_id")
        ).all()
    engine.dispose()
    assert sorted(started) == sorted((job["id"], 1) for job in jobs)

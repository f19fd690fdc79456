"""The Ray executor against a real Ray head (2 CPUs, 127.0.0.1): a dry run of the tiny model completes
with all its events and artifacts, cancel ends `cancelled` with no actor or process left, a killed
Ray worker fails the job with the reason, and a restarted backend adopts a job still running on Ray."""

from __future__ import annotations

import hashlib
import os
import signal
import time

from scale_data import chat_rows
from server_helpers import Api, events_of, pid_alive

TINY = "arkor/tiny-test"


def _upload(api: Api, count: int = 16) -> dict:
    response = api.http.post(
        "/v1/datasets", params=api.scope, content=chat_rows(count), headers={"X-Arkor-Filename": "tickets.jsonl"}
    )
    assert response.status_code == 201, response.text
    return {"type": "uploaded", "datasetId": response.json()["datasetId"]}


def _long_job(api: Api, **config) -> dict:  # type: ignore[no-untyped-def]
    return api.submit(TINY, datasetSource=_upload(api), maxSteps=100000, loggingSteps=1, batchSize=2, **config)


def _wait_gone(pid: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.2)
    return False


def test_dry_run_on_ray_completes_with_all_events_and_artifacts(make_replica) -> None:  # type: ignore[no-untyped-def]
    replica = make_replica("solo")
    api = Api(replica.url)
    job = api.submit(TINY, datasetSource=_upload(api), dryRun=True, loggingSteps=1, batchSize=2)
    frames = api.frames(job["id"], timeout=180)
    events = events_of(frames)
    types = [e["type"] for e in events]
    assert types[0] == "training.started" and types[-1] == "training.completed", (events[-1], replica.log())
    assert "training.log" in types
    assert [int(f.id) for f in frames if f.event != "end"] == list(range(1, len(events) + 1))
    assert api.job(job["id"])["status"] == "completed"

    artifacts = api.http.get(f"/v1/jobs/{job['id']}/artifacts", params=api.scope).json()["artifacts"]
    final = {a["pathname"]: a for a in artifacts}["final/adapter_model.safetensors"]
    body = api.http.get(f"/v1/jobs/{job['id']}/artifacts/final/adapter_model.safetensors", params=api.scope)
    assert body.status_code == 200 and hashlib.sha256(body.content).hexdigest() == final["sha256"]


def test_cancel_running_ray_job_leaves_nothing_running(make_replica, ray_head) -> None:  # type: ignore[no-untyped-def]
    replica = make_replica("solo")
    api = Api(replica.url)
    job = _long_job(api)
    first = events_of(api.frames(job["id"], limit=2, timeout=180))
    assert [e["type"] for e in first] == ["training.started", "training.log"], replica.log()
    pid = ray_head.probe(job["id"])
    assert pid is not None and pid_alive(pid)

    response = api.http.post(f"/v1/jobs/{job['id']}/cancel", params=api.scope)
    assert response.status_code in (200, 202), response.text
    ended = api.wait_status(job["id"], {"cancelled", "failed", "completed"}, timeout=60)
    assert ended["status"] == "cancelled", ended
    assert events_of(api.frames(job["id"]))[-1]["type"] == "training.cancelled"
    assert _wait_gone(pid), f"Ray worker {pid} still alive after cancel"
    assert ray_head.probe(job["id"]) is None


def test_killed_ray_worker_fails_the_job_with_the_reason(make_replica, ray_head) -> None:  # type: ignore[no-untyped-def]
    replica = make_replica("solo")
    api = Api(replica.url)
    job = _long_job(api, maxRestarts=0)  # resuming is tests/integration/resume/test_ray_resume.py
    events_of(api.frames(job["id"], limit=2, timeout=180))
    pid = ray_head.probe(job["id"])
    assert pid is not None

    os.kill(pid, signal.SIGKILL)
    ended = api.wait_status(job["id"], {"cancelled", "failed", "completed"}, timeout=60)
    assert ended["status"] == "failed", ended
    assert "Ray worker died" in ended["error"], ended["error"]
    last = events_of(api.frames(job["id"]))[-1]
    assert last["type"] == "training.failed" and "Ray worker died" in last["error"]
    assert ray_head.probe(job["id"]) is None


def test_restarted_backend_adopts_the_job_still_running_on_ray(make_replica, ray_head) -> None:  # type: ignore[no-untyped-def]
    first = make_replica("first")
    api = Api(first.url)
    job = _long_job(api)
    seen = events_of(api.frames(job["id"], limit=2, timeout=180))
    pid = ray_head.probe(job["id"])
    first.kill()  # SIGKILL: no shutdown, the actor is detached and keeps training
    assert pid is not None and pid_alive(pid)

    # Same data dir (SQLite), new process: it must watch the actor again, not fail the job.
    second = make_replica("first", port=first.port)  # the worker reports to this address
    api.http.base_url = second.url
    assert api.job(job["id"])["status"] == "running"
    resumed = events_of(api.frames(job["id"], last_event_id=len(seen), limit=2, timeout=60))
    assert [e["type"] for e in resumed] == ["training.log", "training.log"]
    assert api.http.post(f"/v1/jobs/{job['id']}/cancel", params=api.scope).status_code in (200, 202)
    assert api.wait_status(job["id"], {"cancelled", "failed", "completed"}, timeout=60)["status"] == "cancelled"
    assert _wait_gone(pid)

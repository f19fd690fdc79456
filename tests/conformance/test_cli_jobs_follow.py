"""`arkor jobs logs -f` follows through the SDK's wait flow: a stream that closes cleanly while the job
runs is reopened after the trainer's backoff with Last-Event-ID, never in a tight loop; a 5xx while
reopening is retried like `Trainer.wait()` does; every event is printed once, in order."""

from __future__ import annotations

import json
from typing import Any

from sdk_scripted_backend import JOB, event

from arkor.cli.jobs import follow_job
from arkor.sdk._wait_flow import ReconnectPolicy
from arkor.sdk.client import CloudApiClient
from arkor.sdk.state import ProjectState

STREAM = "/v1/jobs/job_1/events/stream"


def test_follow_backs_off_on_clean_closes_and_resumes_after_the_last_event(backend: Any) -> None:
    def job_snapshot(_: Any) -> tuple[int, dict[str, str], bytes]:  # running until its last stream was served
        status = "completed" if len(backend.of("GET", STREAM)) >= 5 else "running"
        return 200, {}, json.dumps({"job": {**JOB, "status": status}}).encode()

    backend.overrides[("GET", "/v1/jobs/job_1")] = job_snapshot
    backend.streams = [
        [],  # closes cleanly at once, the job still running
        [event("training.started", 1), event("training.log", 2, step=1, loss=2.5)],
        [],
        503,
        [event("training.log", 3, step=2, loss=2.0), event("training.completed", 4, artifacts=[])],
    ]
    sleeps: list[float] = []
    printed: list[dict] = []
    policy = ReconnectPolicy(reconnect_delay_ms=1000, max_reconnect_delay_ms=60000, random=lambda: 0.5)
    with CloudApiClient(backend.url, {"mode": "anon", "token": "anon-token"}) as client:
        job = follow_job(
            client,
            "job_1",
            ProjectState("anon-org", "proj", "prj_1"),
            printed.append,
            policy=policy,
            sleep=sleeps.append,
        )
    assert [e["type"] for e in printed] == ["training.started", "training.log", "training.log", "training.completed"]
    assert job.status == "completed"
    # A pause before every reopen: empty close (backoff 1s), clean close after progress (1s),
    # empty close (1s), 503 (2s, doubling) -- never an immediate reconnect.
    assert sleeps == [1.0, 1.0, 1.0, 2.0]
    streams = backend.of("GET", STREAM)
    assert [r.headers.get("last-event-id") for r in streams] == [None, None, "2", "2", "2"]

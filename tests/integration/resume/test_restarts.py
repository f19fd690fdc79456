"""Automatic and manual resume mechanics on a real backend with the scripted fake worker: a killed
worker's job goes on as the same job, `maxRestarts` ends it with every reason, cancel wins."""

from __future__ import annotations

import os
import signal
import time

from server_helpers import Api, events_of, pid_alive

from arkor.server.models import JobRow


def _pid(server, job_id: str, *, not_pid: int | None = None) -> int:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with server.app.state.services.db.read() as session:
            pid = session.get(JobRow, job_id).pid
        if pid and pid != not_pid:
            return pid
        time.sleep(0.05)
    raise AssertionError("worker never started")


def _steps(events: list[dict]) -> list[int]:
    return [e["step"] for e in events if e["type"] == "training.log"]


def test_a_killed_worker_is_resumed_as_the_same_job_and_completes(backend, api: Api) -> None:  # type: ignore[no-untyped-def]
    job = api.submit("fake/slow", maxSteps=8, saveSteps=2)
    first = api.frames(job["id"], limit=4)  # started + 3 steps (or a checkpoint)
    killed = _pid(backend, job["id"])
    started_at = api.job(job["id"])["startedAt"]
    os.kill(killed, signal.SIGKILL)
    rest = api.frames(job["id"], last_event_id=int(first[-1].id))
    events = events_of(first) + events_of(rest)
    ids = [int(f.id) for f in first + rest if f.event != "end"]
    assert ids == list(range(1, len(ids) + 1))
    resumed = [e for e in events if e["type"] == "training.resumed"]
    assert len(resumed) == 1
    assert resumed[0]["restarts"] == 1 and "signal 9 (SIGKILL)" in resumed[0]["reason"]
    assert resumed[0]["step"] == 0  # the fake worker writes no resumable checkpoint: it starts over
    assert _steps(events) == list(range(1, 9))  # each step once, never backwards
    assert [e["type"] for e in events].count("training.started") == 1
    assert events[-1]["type"] == "training.completed"
    done = api.job(job["id"])
    assert done["status"] == "completed" and done.get("error") is None
    assert done["startedAt"] == started_at  # the same job, started once
    assert not pid_alive(killed)


def test_max_restarts_used_up_fails_with_every_reason(api: Api) -> None:
    job = api.submit("fake/exit1", maxRestarts=2)
    failed = api.wait_status(job["id"], {"failed", "completed", "cancelled"})
    assert failed["status"] == "failed"
    error = failed["error"]
    assert error.startswith(
        "the job was interrupted 3 times and its maxRestarts (2) are used up: 1) worker process exited with code 1"
    )
    assert "2) worker process exited with code 1" in error and "3) worker process exited with code 1" in error
    assert "simulated crash" in error and "`arkor jobs resume JOB`" in error
    events = events_of(api.frames(job["id"]))
    assert [e["type"] for e in events] == [
        "training.started",
        "training.resumed",
        "training.resumed",
        "training.failed",
    ]
    assert [e["restarts"] for e in events if e["type"] == "training.resumed"] == [1, 2]
    assert events[-1]["error"] == error


def test_cancel_while_waiting_to_resume_wins_then_a_manual_resume_finishes_it(backend, api: Api) -> None:  # type: ignore[no-untyped-def]
    executor = backend.app.state.services.manager.executor
    job = api.submit("fake/slow", maxSteps=6, saveSteps=2)
    first = api.frames(job["id"], limit=3)
    executor.max_workers = 0  # no free worker: the interrupted job waits in the queue
    os.kill(_pid(backend, job["id"]), signal.SIGKILL)
    assert api.wait_status(job["id"], {"queued", "failed", "completed"})["status"] == "queued"
    answer = api.http.post(f"/v1/jobs/{job['id']}/cancel", params=api.scope)
    assert answer.status_code == 200 and answer.json()["job"]["status"] == "cancelled"
    executor.max_workers = 1
    time.sleep(0.5)  # (not an assertion on time) give the dispatcher a turn: it must not start it
    assert api.job(job["id"])["status"] == "cancelled"

    # `POST /v1/jobs/:id/resume`: the same job goes on and completes; its stream runs past the old end.
    answer = api.http.post(f"/v1/jobs/{job['id']}/resume", params=api.scope)
    assert answer.status_code == 200, answer.text
    assert answer.json()["job"]["status"] in ("queued", "running") and answer.json()["job"]["id"] == job["id"]
    assert api.wait_status(job["id"], {"completed", "failed"})["status"] == "completed"
    frames = api.frames(job["id"])
    events = events_of(frames)
    kinds = [e["type"] for e in events]
    assert kinds.count("training.cancelled") == 1 and kinds[-1] == "training.completed" and frames[-1].event == "end"
    manual = [e for e in events if e["type"] == "training.resumed"][-1]
    assert manual["reason"] == "resumed by request" and manual["restarts"] == 0
    assert _steps(events) == list(range(1, 7))
    assert int(first[0].id) == 1

    again = api.http.post(f"/v1/jobs/{job['id']}/resume", params=api.scope)
    assert again.status_code == 409
    assert (
        again.json()["error"]
        == "only a failed or cancelled job can be resumed; it completed; there is nothing left to train"
    )


def test_cancel_of_a_resumed_running_job(backend, api: Api) -> None:  # type: ignore[no-untyped-def]
    job = api.submit("fake/slow", maxSteps=200)
    api.frames(job["id"], limit=2)
    first_pid = _pid(backend, job["id"])
    os.kill(first_pid, signal.SIGKILL)
    second_pid = _pid(backend, job["id"], not_pid=first_pid)
    assert api.http.post(f"/v1/jobs/{job['id']}/cancel", params=api.scope).status_code == 200
    assert api.wait_status(job["id"], {"cancelled", "failed", "completed"})["status"] == "cancelled"
    assert events_of(api.frames(job["id"]))[-1]["type"] == "training.cancelled"
    assert not pid_alive(second_pid)

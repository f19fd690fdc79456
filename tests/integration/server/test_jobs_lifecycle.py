"""Jobs run by the local executor (with the scripted fake worker): events, resume, cancel, crashes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from server_helpers import FAKE_WORKER, Api, events_of, pid_alive

from arkor.server.models import JobRow


def _pid(server, job_id: str) -> int:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with server.app.state.services.db.read() as session:
            pid = session.get(JobRow, job_id).pid
        if pid:
            return pid
        time.sleep(0.05)
    raise AssertionError("worker never started")


def test_full_event_sequence_with_checkpoints(api: Api) -> None:
    job = api.submit("fake/fast", maxSteps=4, saveSteps=2)
    assert job["status"] == "queued"
    frames = api.frames(job["id"])
    events = events_of(frames)
    assert [e["type"] for e in events] == [
        "training.started",
        "training.log",
        "training.log",
        "checkpoint.saved",
        "training.log",
        "training.log",
        "checkpoint.saved",
        "training.completed",
    ]
    assert [int(f.id) for f in frames if f.event != "end"] == list(range(1, len(events) + 1))
    assert all(f.event == e["type"] and e["jobId"] == job["id"] and e["timestamp"] for f, e in zip(frames, events))
    assert frames[-1].event == "end"
    assert [e["step"] for e in events if e["type"] == "checkpoint.saved"] == [2, 4]

    done = api.job(job["id"])
    assert done["status"] == "completed" and done["startedAt"] and done["completedAt"]

    listed = api.http.get(f"/v1/jobs/{job['id']}/artifacts", params=api.scope).json()["artifacts"]
    names = {a["pathname"] for a in listed}
    assert {"final/adapter_model.safetensors", "checkpoints/step-2/adapter_config.json"} <= names
    final = next(a for a in listed if a["pathname"] == "final/adapter_config.json")
    body = api.http.get(final["url"], params=api.scope)
    assert body.status_code == 200 and body.json() == {"step": 4} and len(body.content) == final["size"]

    checkpoints = api.http.get(f"/v1/jobs/{job['id']}/checkpoints", params=api.scope).json()["checkpoints"]
    assert [c["step"] for c in checkpoints] == [2, 4]
    assert any(a["pathname"] == "checkpoints/step-4/adapter_model.safetensors" for a in checkpoints[1]["artifacts"])

    # A finished job's stream replays in full and ends; a cursor at the end gets only `end`.
    assert events_of(api.frames(job["id"])) == events
    tail = api.frames(job["id"], last_event_id=len(events))
    assert [f.event for f in tail] == ["end"]
    listed_jobs = api.http.get("/v1/jobs", params=api.scope).json()["jobs"]
    assert [j["id"] for j in listed_jobs] == [job["id"]]


def test_resume_mid_run_with_last_event_id(api: Api) -> None:
    job = api.submit("fake/slow", maxSteps=6, saveSteps=3)
    first = api.frames(job["id"], limit=3)
    assert [int(f.id) for f in first] == [1, 2, 3]
    assert api.job(job["id"])["status"] == "running"
    rest = api.frames(job["id"], last_event_id=3)
    ids = [int(f.id) for f in first] + [int(f.id) for f in rest if f.event != "end"]
    assert ids == list(range(1, len(ids) + 1))
    assert rest[-2].event == "training.completed" and rest[-1].event == "end"


def test_resume_across_server_restart(make_backend) -> None:  # type: ignore[no-untyped-def]
    server = make_backend()
    api = Api(server.url)
    job = api.submit("fake/slow", maxSteps=12, saveSteps=5)
    first = api.frames(job["id"], limit=3)
    server.stop()  # graceful: the worker is stopped and the job re-queued for the next backend

    restarted = make_backend()
    api.http.base_url = restarted.url
    rest = api.frames(job["id"], last_event_id=int(first[-1].id))
    ids = [int(f.id) for f in first] + [int(f.id) for f in rest if f.event != "end"]
    assert ids == list(range(1, len(ids) + 1)), ids
    events = events_of(first) + events_of(rest)
    resumed = [e for e in events if e["type"] == "training.resumed"]
    assert len(resumed) == 1 and "shut down" in resumed[0]["reason"] and resumed[0]["restarts"] == 1
    # the fake worker starts over; the backend keeps every step exactly once and says `started` once
    assert [e["step"] for e in events if e["type"] == "training.log"] == list(range(1, 13))
    assert [e["type"] for e in events].count("training.started") == 1
    assert events[-1]["type"] == "training.completed"
    assert api.job(job["id"])["status"] == "completed"
    # The whole log, read again from the new server, is the same events exactly once.
    assert [int(f.id) for f in api.frames(job["id"]) if f.event != "end"] == ids


def test_cancel_queued_then_running_leaves_no_process(backend, api: Api) -> None:  # type: ignore[no-untyped-def]
    running = api.submit("fake/slow", maxSteps=50)
    queued = api.submit("fake/slow", maxSteps=50)
    api.wait_status(running["id"], {"running"})
    pid = _pid(backend, running["id"])
    assert api.job(queued["id"])["status"] == "queued"  # one slot: FIFO

    answer = api.http.post(f"/v1/jobs/{queued['id']}/cancel", params=api.scope)
    assert answer.status_code == 200 and answer.json()["ok"] is True
    assert answer.json()["job"]["status"] == "cancelled"
    assert [e["type"] for e in events_of(api.frames(queued["id"]))] == ["training.cancelled"]

    answer = api.http.post(f"/v1/jobs/{running['id']}/cancel", params=api.scope)
    assert answer.status_code == 200
    assert api.wait_status(running["id"], {"cancelled", "failed"})["status"] == "cancelled"
    assert events_of(api.frames(running["id"]))[-1]["type"] == "training.cancelled"
    assert not pid_alive(pid)

    again = api.http.post(f"/v1/jobs/{running['id']}/cancel", params=api.scope)
    assert again.status_code == 409 and again.json()["error"] == "already cancelled"


def test_cancel_escalates_to_sigkill_for_a_worker_ignoring_sigterm(make_backend) -> None:  # type: ignore[no-untyped-def]
    server = make_backend(cancel_grace_s=0.5)
    api = Api(server.url)
    job = api.submit("fake/stubborn", maxSteps=100)
    api.wait_status(job["id"], {"running"})
    pid = _pid(server, job["id"])
    api.frames(job["id"], limit=1)
    api.http.post(f"/v1/jobs/{job['id']}/cancel", params=api.scope)
    assert api.wait_status(job["id"], {"cancelled", "failed"})["status"] == "cancelled"
    assert not pid_alive(pid)


def test_kill_9_of_a_worker_fails_the_job_with_the_reason(backend, api: Api) -> None:  # type: ignore[no-untyped-def]
    job = api.submit("fake/slow", maxSteps=100, maxRestarts=0)
    api.frames(job["id"], limit=2)
    os.kill(_pid(backend, job["id"]), signal.SIGKILL)
    failed = api.wait_status(job["id"], {"failed", "completed", "cancelled"}, timeout=30)
    assert failed["status"] == "failed"
    assert "signal 9 (SIGKILL)" in failed["error"] and "out of memory" in failed["error"]
    last = events_of(api.frames(job["id"]))[-1]
    assert last["type"] == "training.failed" and last["error"] == failed["error"]


def test_a_worker_that_stops_heartbeating_is_failed(make_backend) -> None:  # type: ignore[no-untyped-def]
    server = make_backend(heartbeat_timeout_s=1.5)
    api = Api(server.url)
    job = api.submit("fake/silent", maxRestarts=0)
    pid = _pid(server, job["id"])
    failed = api.wait_status(job["id"], {"failed"}, timeout=30)
    assert "heartbeats" in failed["error"]
    deadline = time.monotonic() + 10
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(pid)


def test_worker_exit_without_terminal_event_and_reported_failure(api: Api) -> None:
    crashed = api.submit("fake/exit1", maxRestarts=0)
    failed = api.wait_status(crashed["id"], {"failed"})
    assert "exited with code 1" in failed["error"] and "simulated crash" in failed["error"]
    reported = api.submit("fake/fail")
    failed = api.wait_status(reported["id"], {"failed"})
    assert failed["error"] == "simulated failure"
    assert [e["type"] for e in events_of(api.frames(reported["id"]))][-1] == "training.failed"


def test_crashed_backend_leaves_no_job_running_and_no_orphan_worker(make_backend, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`python -m arkor.server serve` killed with SIGKILL: the next backend fails its running job and
    stops the worker it left behind."""
    record = tmp_path / "server.json"
    env = {**os.environ, "ARKOR_WORKER_COMMAND": json.dumps([sys.executable, str(FAKE_WORKER)])}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "arkor.server",
            "serve",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path / "data"),
            "--record",
            str(record),
        ],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not record.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        info = json.loads(record.read_text())
        assert info["pid"] == process.pid and info["url"].startswith("http://127.0.0.1:")
        api = Api(info["url"])
        job = api.submit("fake/slow", maxSteps=1000, maxRestarts=0)
        api.frames(job["id"], limit=2)
    finally:
        process.kill()
        process.wait()
    restarted = make_backend()
    with restarted.app.state.services.db.read() as session:
        worker_pid = session.get(JobRow, job["id"]).pid
    api.http.base_url = restarted.url
    failed = api.job(job["id"])
    assert failed["status"] == "failed" and "1) backend restarted while the job was running" in failed["error"]
    assert events_of(api.frames(job["id"]))[-1]["type"] == "training.failed"
    deadline = time.monotonic() + 10
    while pid_alive(worker_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(worker_pid)


def test_idle_stream_sends_pings(make_backend) -> None:  # type: ignore[no-untyped-def]
    server = make_backend(sse_ping_interval_s=0.2, max_concurrent_jobs=1)
    api = Api(server.url)
    blocker = api.submit("fake/slow", maxSteps=100)
    waiting = api.submit("fake/slow")
    frames = api.frames(waiting["id"], include_pings=True, limit=2)
    assert [f.event for f in frames] == ["ping", "ping"] and all(f.id is None for f in frames)
    api.http.post(f"/v1/jobs/{blocker['id']}/cancel", params=api.scope)

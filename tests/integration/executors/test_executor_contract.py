"""The executor contract (`arkor.executors.base.Executor`), run against every executor: `local` (worker
subprocesses), `ray` (actors on a real Ray head) and `thread` (`thread_executor.ThreadExecutor`, which
plugs in through `register_executor` alone). Each trains `arkor/tiny-test` for real.

Through a real backend process: a job runs to completion; a cancelled one ends `cancelled`; after the
backend is killed, a restarted one takes the running job over (Ray watches its actor again, the
others resume it in a new worker); a graceful shutdown stops what cannot outlive it. In this process:
the executor's accounting (free slots, running, pending) and its answers for jobs it does not have.
"""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from scale_data import chat_rows
from server_helpers import Api, events_of

from arkor.executors.base import Executor, WorkerExit
from arkor.protocol import JobConfig, WorkerExitCode, WorkerExitReason, WorkerSpec

TINY = "arkor/tiny-test"
OUTLIVES_BACKEND = {"ray"}  # executors whose workers keep running when the backend is gone


def _upload(api: Api) -> dict:
    response = api.http.post(
        "/v1/datasets", params=api.scope, content=chat_rows(16), headers={"X-Arkor-Filename": "t.jsonl"}
    )
    assert response.status_code == 201, response.text
    return {"type": "uploaded", "datasetId": response.json()["datasetId"]}


def _submit(api: Api, max_steps: int) -> dict:
    return api.submit(TINY, datasetSource=_upload(api), maxSteps=max_steps, loggingSteps=1, batchSize=2, saveSteps=2)


def _workers_running(api: Api) -> int:
    metrics = api.http.get("/metrics").text
    return int(next(line for line in metrics.splitlines() if line.startswith("arkor_workers_running ")).split()[1])


def _wait(predicate: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen")
        time.sleep(0.1)


def _training(api: Api, job_id: str, after: int = 0) -> list[dict]:
    """The job's events after event `after`, up to and including its next training.log (it waits for one)."""
    events: list[dict] = []
    while not events or events[-1]["type"] != "training.log":
        frames = api.frames(job_id, last_event_id=after + len(events) or None, limit=1, timeout=180)
        new = events_of(frames)
        assert new, f"the stream of {job_id} ended before a training.log: {events}"
        events += new
    return events


# ---- through a real backend ------------------------------------------------------------------------


def test_a_job_runs_to_completion(executor_name: str, make_backend) -> None:  # type: ignore[no-untyped-def]
    backend = make_backend()
    api = Api(backend.url)
    job = _submit(api, max_steps=2)
    events = events_of(api.frames(job["id"], timeout=180))
    assert [e["type"] for e in events][0] == "training.started", backend.log()
    assert events[-1]["type"] == "training.completed", (events[-1], backend.log())
    assert [e["step"] for e in events if e["type"] == "training.log"] == [1, 2]
    assert api.job(job["id"])["status"] == "completed"
    _wait(lambda: _workers_running(api) == 0, "the executor letting go of the finished job")


def test_a_cancelled_job_ends_cancelled_and_leaves_no_worker(executor_name: str, make_backend) -> None:  # type: ignore[no-untyped-def]
    backend = make_backend()
    api = Api(backend.url)
    job = _submit(api, max_steps=100000)
    assert [e["type"] for e in _training(api, job["id"])] == ["training.started", "training.log"], backend.log()
    assert _workers_running(api) == 1
    answer = api.http.post(f"/v1/jobs/{job['id']}/cancel", params=api.scope)
    assert answer.status_code in (200, 202), answer.text
    assert api.wait_status(job["id"], {"cancelled", "failed", "completed"}, timeout=60)["status"] == "cancelled"
    assert events_of(api.frames(job["id"]))[-1]["type"] == "training.cancelled"
    _wait(lambda: _workers_running(api) == 0, "the cancelled worker ending")


def test_a_restarted_backend_takes_over_the_running_job(executor_name: str, make_backend) -> None:  # type: ignore[no-untyped-def]
    first = make_backend()
    api = Api(first.url)
    job = _submit(api, max_steps=100000)
    seen = _training(api, job["id"])
    first.kill()  # SIGKILL: no shutdown; a Ray actor keeps training, a local worker is orphaned, a thread dies

    second = make_backend(port=first.port)  # same data dir and address: a worker that lives on reports here
    api.http.base_url = second.url
    after = _training(api, job["id"], after=len(seen))
    if executor_name in OUTLIVES_BACKEND:
        assert [e["type"] for e in after] == ["training.log"], second.log()  # watched again, never restarted
    else:
        resumed = next(e for e in after if e["type"] == "training.resumed")
        assert resumed["reason"] == WorkerExitReason.BACKEND_RESTARTED, resumed
        assert after[-1]["type"] == "training.log", second.log()
    assert api.job(job["id"])["status"] == "running" and _workers_running(api) == 1
    assert api.http.post(f"/v1/jobs/{job['id']}/cancel", params=api.scope).status_code in (200, 202)
    assert api.wait_status(job["id"], {"cancelled", "failed", "completed"}, timeout=60)["status"] == "cancelled"
    _wait(lambda: _workers_running(api) == 0, "the taken-over worker ending")


def test_shutdown_stops_what_cannot_outlive_the_backend(executor_name: str, make_backend) -> None:  # type: ignore[no-untyped-def]
    first = make_backend()
    api = Api(first.url)
    job = _submit(api, max_steps=100000)
    _training(api, job["id"])
    first.stop()  # SIGTERM: a graceful shutdown

    second = make_backend(port=first.port)
    api.http.base_url = second.url
    if executor_name in OUTLIVES_BACKEND:
        assert api.job(job["id"])["status"] == "running"  # left running on Ray, and adopted
    else:
        stored = [e for e in _all_events(api, job["id"]) if e["type"] == "training.resumed"]
        assert stored and stored[0]["reason"] == WorkerExitReason.BACKEND_SHUT_DOWN, stored
    assert api.http.post(f"/v1/jobs/{job['id']}/cancel", params=api.scope).status_code in (200, 202)
    assert api.wait_status(job["id"], {"cancelled", "failed", "completed"}, timeout=60)["status"] == "cancelled"
    _wait(lambda: _workers_running(api) == 0, "the job's worker ending")


def _all_events(api: Api, job_id: str) -> list[dict]:
    response = api.http.get(f"/v1/jobs/{job_id}", params={**api.scope, "events": "true"})
    assert response.status_code == 200, response.text
    return response.json()["events"]


# ---- the executor itself ------------------------------------------------------------------------------


class Ends:
    """The bound callback: every end reported, and whether the job was still listed as running then."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self.ends: list[tuple[WorkerExit, bool, int]] = []
        self._changed = threading.Condition()

    def __call__(self, end: WorkerExit) -> None:
        with self._changed:
            self.ends.append((end, end.job_id in self.executor.running(), self.executor.free_slots()))
            self._changed.notify_all()

    def of(self, job_id: str, timeout: float = 180) -> list[tuple[WorkerExit, bool, int]]:
        with self._changed:
            self._changed.wait_for(lambda: any(e.job_id == job_id for e, _, _ in self.ends), timeout)
            return [item for item in self.ends if item[0].job_id == job_id]


def _spec_file(tmp_path: Path, job_id: str, max_steps: int) -> Path:
    dataset = tmp_path / "rows.jsonl"
    dataset.write_bytes(chat_rows(16))
    config = JobConfig.model_validate(
        {
            "model": TINY,
            "datasetSource": {"type": "file", "path": str(dataset)},
            "maxSteps": max_steps,
            "loggingSteps": 1,
            "batchSize": 2,
        }
    )
    spec = WorkerSpec(job_id=job_id, config=config, output_dir=str(tmp_path / "out" / job_id))
    path = tmp_path / f"{job_id}.json"
    path.write_text(spec.model_dump_json(by_alias=True, exclude_none=True))
    return path


def _has_trained(tmp_path: Path, job_id: str) -> bool:
    """The worker logged a training step (in its output folder; a Ray actor's is its node-local temp folder)."""
    folders = [tmp_path / "out" / job_id, *Path(tempfile.gettempdir()).glob(f"arkor-ray-{job_id}-*/output")]
    for folder in folders:
        try:
            if '"training.log"' in (folder / "events.jsonl").read_text():
                return True
        except OSError:
            pass
    return False


def test_the_executor_accounts_for_its_workers(executor_name: str, make_executor, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    executor = make_executor(max_concurrent_jobs=2, ray_max_pending_jobs=2)
    assert isinstance(executor, Executor)
    ends = Ends(executor)
    executor.bind(ends)
    assert executor.running() == [] and executor.free_slots() == 2
    # Jobs it does not have: nothing to stop, nothing pending.
    assert not executor.cancel("job_unknown", grace_s=1) and not executor.kill("job_unknown")
    assert not executor.pending("job_unknown")

    executor.submit("job_short", _spec_file(tmp_path, "job_short", max_steps=1))
    assert "job_short" in executor.running() and executor.free_slots() == 1
    [(end, listed, free)] = ends.of("job_short")
    assert end.returncode == WorkerExitCode.REPORTED, end
    assert listed, "a job must stay in running() until its end is reported"
    assert free == 2, "its slot is free by the time its end is reported"
    _wait(lambda: executor.running() == [], "running() letting go of the reported job")
    assert not executor.pending("job_short")

    long_job = f"job_{uuid.uuid4().hex[:12]}"
    executor.submit(long_job, _spec_file(tmp_path, long_job, max_steps=100000))
    _wait(lambda: _has_trained(tmp_path, long_job), "the long job's first step", timeout=180)
    assert not executor.pending(long_job)
    assert executor.cancel(long_job, grace_s=30) and executor.cancel(long_job, grace_s=30)  # the second is a no-op
    [(end, listed, _)] = ends.of(long_job)
    assert end.returncode == WorkerExitCode.STOPPED, (end, end.log_tail)
    assert len(ends.of("job_short")) == 1 and len(ends.of(long_job)) == 1  # each end is reported once


@pytest.mark.parametrize("executor_name", [pytest.param("ray", marks=pytest.mark.ray)])
def test_a_ray_job_waiting_for_resources_is_pending(executor_name: str, make_executor, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    executor = make_executor(ray_num_cpus=64)  # the session's head has 2 CPUs: the actor cannot start
    ends = Ends(executor)
    executor.bind(ends)
    executor.submit("job_waiting", _spec_file(tmp_path, "job_waiting", max_steps=1))
    assert executor.pending("job_waiting") and "job_waiting" in executor.running()
    assert executor.kill("job_waiting")
    [(end, _, _)] = ends.of("job_waiting", timeout=60)
    assert end.returncode != WorkerExitCode.REPORTED and "Ray" in end.describe(), end

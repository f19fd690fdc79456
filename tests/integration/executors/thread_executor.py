"""`ThreadExecutor`: a test executor that runs the worker entry on a thread of the backend's own process.

It exists to prove the executor contract is the whole story: it plugs in through
`register_executor("thread", ...)` alone and passes the same contract tests as `local` and `ray`.
A thread cannot be killed, so `cancel` and `kill` both ask the worker to stop at its next step
boundary; its workers die with the process, so there is never anything to `adopt`.
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

from arkor.engine.worker import run_worker
from arkor.executors.base import Adoption, ExitCallback, WorkerExit
from arkor.protocol import WorkerExitCode, WorkerExitReason

NAME = "thread"


@dataclass
class _Job:
    stop: threading.Event = field(default_factory=threading.Event)
    reported: bool = False


class ThreadExecutor:
    def __init__(self, *, max_workers: int) -> None:
        self.max_workers = max_workers
        self.on_exit: ExitCallback | None = None
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)

    def bind(self, on_exit: ExitCallback) -> None:
        self.on_exit = on_exit

    def free_slots(self) -> int:
        with self._lock:
            return max(0, self.max_workers - sum(not job.reported for job in self._jobs.values()))

    def running(self) -> list[str]:
        with self._lock:
            return list(self._jobs)

    def pending(self, job_id: str) -> bool:
        return False  # a slot is only handed out with a thread to run on

    def submit(self, job_id: str, spec_path: Path) -> int | None:
        if self.on_exit is None:
            raise RuntimeError("ThreadExecutor.submit before bind()")
        spec_json = Path(spec_path).read_bytes()  # read now: the manager deletes the file once the job ends
        job = _Job()
        with self._lock:
            self._jobs[job_id] = job
        # A daemon thread: one that does not stop in time must not keep the backend process alive.
        threading.Thread(
            target=self._run, args=(job_id, job, spec_json), name=f"arkor-thread-{job_id}", daemon=True
        ).start()
        return None

    def _run(self, job_id: str, job: _Job, spec_json: bytes) -> None:
        code = WorkerExitCode.CRASHED
        try:
            code = run_worker(spec_json, stop_requested=job.stop)
        finally:
            self._report(job_id, job, int(code))

    def _report(self, job_id: str, job: _Job, returncode: int) -> None:
        """Hand the end to the callback once (the worker's own end, or shutdown giving up on it)."""
        with self._lock:
            if job.reported:
                return
            job.reported = True  # its slot is free; it stays in running() until the callback returns
        try:
            if self.on_exit is not None:
                self.on_exit(WorkerExit(job_id=job_id, returncode=returncode))
        finally:
            with self._lock:
                if self._jobs.get(job_id) is job:
                    del self._jobs[job_id]
                self._idle.notify_all()

    def cancel(self, job_id: str, *, grace_s: float) -> bool:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.reported:
            return False
        job.stop.set()
        return True

    def kill(self, job_id: str) -> bool:
        return self.cancel(job_id, grace_s=0)

    def adopt(self, job_id: str, *, pid: int | None) -> Adoption:
        return Adoption(watching=False, lost_reason=WorkerExitReason.BACKEND_RESTARTED)

    def shutdown(self, *, grace_s: float) -> None:
        """Ask every worker to stop; one still running after `grace_s` is given up (reported as killed:
        a thread cannot be forced, and it ends with the process)."""
        with self._lock:
            jobs = list(self._jobs.items())
        for _, job in jobs:
            job.stop.set()
        with self._lock:
            self._idle.wait_for(lambda: not self._jobs, timeout=grace_s)
            left = [(job_id, job) for job_id, job in self._jobs.items() if not job.reported]
        for job_id, job in left:
            self._report(job_id, job, -signal.SIGKILL)


def register() -> None:
    """What a plug-in does: name a factory in the registry (the backend builds and binds the executor)."""
    from arkor.server.executors import register_executor

    register_executor(NAME, lambda settings: ThreadExecutor(max_workers=settings.max_concurrent_jobs))

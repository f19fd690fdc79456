"""`LocalProcessExecutor`: each job is a worker subprocess on this machine.

Every worker gets its own session (and so its own process group), so stopping a job signals the whole
tree the worker started (data loaders, tokenizer pools) and nothing is left behind. Stop = SIGTERM to
the group, SIGKILL after a grace period. A reaper thread per worker waits for its exit, sweeps the
group once more, and reports a `WorkerExit` (exit code or signal, tail of the worker's log) through
the callback. The executor knows nothing about job status or the server.

Workers end with their backend (`shutdown` stops them); one a crashed backend left behind cannot be
watched from a new process, so `adopt` stops it and reports the job lost.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from arkor.protocol import WorkerExitReason

from .base import Adoption, ExitCallback, WorkerExit

logger = logging.getLogger(__name__)

DEFAULT_WORKER_COMMAND = (sys.executable, "-m", "arkor.engine.worker")
_LOG_TAIL_BYTES = 2000


@dataclass
class _Worker:
    job_id: str
    process: subprocess.Popen[bytes]
    log_path: Path
    reaper: threading.Thread | None = None
    stop_timer: threading.Timer | None = None
    done: threading.Event = field(default_factory=threading.Event)


class LocalProcessExecutor:
    """At most `max_workers` worker subprocesses; logs go to `log_dir/<job_id>.log`."""

    def __init__(
        self,
        *,
        max_workers: int,
        log_dir: Path,
        on_exit: ExitCallback | None = None,
        worker_command: list[str] | tuple[str, ...] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.max_workers = max_workers
        self.log_dir = Path(log_dir)
        self.on_exit = on_exit
        self.worker_command = list(worker_command or DEFAULT_WORKER_COMMAND)
        self.env = env
        self._workers: dict[str, _Worker] = {}
        self._reporting: set[str] = set()  # exited, their end not yet handed to `on_exit`
        self._lock = threading.Lock()

    def bind(self, on_exit: ExitCallback) -> None:
        self.on_exit = on_exit

    def free_slots(self) -> int:
        with self._lock:
            return max(0, self.max_workers - len(self._workers))

    def running(self) -> list[str]:
        with self._lock:
            return [*self._workers, *self._reporting]

    def pending(self, job_id: str) -> bool:
        return False  # a subprocess starts at once

    def adopt(self, job_id: str, *, pid: int | None) -> Adoption:
        if pid:
            _kill_orphan_worker(pid, job_id)
        return Adoption(watching=False, lost_reason=WorkerExitReason.BACKEND_RESTARTED)

    def pid(self, job_id: str) -> int | None:
        with self._lock:
            worker = self._workers.get(job_id)
            return worker.process.pid if worker else None

    def submit(self, job_id: str, spec_path: Path) -> int:
        if self.on_exit is None:
            raise RuntimeError("LocalProcessExecutor.submit before bind(): nobody would learn of the worker's end")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{job_id}.log"
        env = dict(os.environ if self.env is None else self.env)
        env["PYTHONUNBUFFERED"] = "1"
        # The log, and what the worker writes (events, checkpoints), stay readable by this user only.
        log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(log_fd, "ab") as log:
            process = subprocess.Popen(
                [*self.worker_command, "--spec", str(spec_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # own process group: signals reach the whole worker tree
                close_fds=True,
                umask=0o077,
            )
        worker = _Worker(job_id=job_id, process=process, log_path=log_path)
        with self._lock:
            self._workers[job_id] = worker
        worker.reaper = threading.Thread(target=self._reap, args=(worker,), name=f"arkor-reaper-{job_id}", daemon=True)
        worker.reaper.start()
        logger.info("started worker pid %s for job %s", process.pid, job_id)
        return process.pid

    def cancel(self, job_id: str, *, grace_s: float) -> bool:
        with self._lock:
            worker = self._workers.get(job_id)
        if worker is None:
            return False
        _signal_group(worker.process.pid, signal.SIGTERM)
        if worker.stop_timer is None:
            worker.stop_timer = threading.Timer(grace_s, self._force, args=(worker,))
            worker.stop_timer.daemon = True
            worker.stop_timer.start()
        return True

    def kill(self, job_id: str) -> bool:
        with self._lock:
            worker = self._workers.get(job_id)
        if worker is None:
            return False
        self._force(worker)
        return True

    def shutdown(self, *, grace_s: float) -> None:
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            _signal_group(worker.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for worker in workers:
            if not worker.done.wait(max(0.0, deadline - time.monotonic())):
                self._force(worker)
        for worker in workers:
            worker.done.wait(10)

    def _report(self, exit_info: WorkerExit) -> None:
        if self.on_exit is None:  # pragma: no cover - submit() refuses to start a worker unbound
            raise RuntimeError("no exit callback bound")
        self.on_exit(exit_info)

    def _force(self, worker: _Worker) -> None:
        if not worker.done.is_set():
            logger.warning("worker for job %s did not stop in time; sending SIGKILL", worker.job_id)
            _signal_group(worker.process.pid, signal.SIGKILL)

    def _reap(self, worker: _Worker) -> None:
        returncode = worker.process.wait()
        # The leader is gone; anything it left in its group goes too.
        _signal_group(worker.process.pid, signal.SIGKILL)
        if worker.stop_timer is not None:
            worker.stop_timer.cancel()
        with self._lock:  # the slot is free now; the job stays in running() until its end is reported
            self._workers.pop(worker.job_id, None)
            self._reporting.add(worker.job_id)
        exit_info = WorkerExit(job_id=worker.job_id, returncode=returncode, log_tail=_tail(worker.log_path))
        logger.info("worker for job %s exited: %s", worker.job_id, returncode)
        try:
            self._report(exit_info)
        except Exception:  # the callback's failure must not lose the slot bookkeeping above
            logger.exception("exit callback failed for job %s", worker.job_id)
        finally:
            with self._lock:
                self._reporting.discard(worker.job_id)
            worker.done.set()


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - _LOG_TAIL_BYTES))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _kill_orphan_worker(pid: int, job_id: str) -> None:
    """SIGKILL the process group of a worker a crashed backend left behind, if it is really ours."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmdline = handle.read().decode(errors="replace")
    except OSError:
        return
    if job_id not in cmdline:  # the pid was reused by something else
        return
    try:
        os.killpg(pid, signal.SIGKILL)
        logger.warning("killed orphaned worker pid %s of job %s", pid, job_id)
    except (ProcessLookupError, PermissionError):
        pass

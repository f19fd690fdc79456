"""`JobManager`: the job lifecycle. It owns job status; the executor owns processes.

Every status change goes through `transition()`: an allowed-transition table plus a compare-and-swap
(`UPDATE jobs SET status=:to WHERE id=:id AND status=:expected`), with the event that announces the
change appended in the same transaction. Terminal states are final, except that an explicit
resume (`resume()`, `POST /v1/jobs/:id/resume`) puts a failed or cancelled job back in the queue.

A dispatch thread claims the oldest queued job whenever the executor has a free slot (FIFO), writes
its `WorkerSpec` and launches it; the same loop fails running jobs whose worker went silent. Worker
exits come back from the executor: an exit without a terminal event (a killed worker, an OOM kill,
a lost Ray actor, a silent worker, a backend restart found at startup) re-queues the job with a
`training.resumed` event; its next worker goes on from the newest resumable checkpoint (see
`resume_plan`). After `maxRestarts` such interruptions the job fails with every reason listed. A
cancel asked for always wins over a resume.

Scale-out (PostgreSQL + Ray): replicas claim queued jobs with `SELECT ... FOR UPDATE SKIP LOCKED`
(the CAS still guards the write; SQLite has one writer anyway). The executor is asked to `adopt`
every running job it does not watch, at startup and on every loop: one whose workers outlive a
backend (Ray: detached actors) watches it again; for any other, the job has lost its worker and is
re-queued to resume. Events are fanned out to the other replicas through `fanout.PostgresFanout`.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from arkor.executors.base import Executor, WorkerExit
from arkor.protocol import (
    DEFAULT_MAX_RESTARTS,
    TERMINAL_STATUSES,
    DatasetAccess,
    FileDatasetSource,
    JobConfig,
    JobEventBase,
    ReportTarget,
    TrainingCancelled,
    TrainingFailed,
    TrainingResumed,
    UploadedDatasetSource,
    WorkerExitReason,
    WorkerSpec,
    event_status,
    is_terminal,
)

from . import resume_plan
from ._util import hash_token, iso_now, new_token
from .db import Database
from .events import Broadcaster, EventLog, StoredEvent
from .models import DatasetRow, JobRow

logger = logging.getLogger(__name__)

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"running", "cancelled", "failed"}),
    "running": frozenset({"completed", "failed", "cancelled", "queued"}),  # queued: interrupted, resumes
    "completed": frozenset(),
    "failed": frozenset({"queued"}),  # only through resume()
    "cancelled": frozenset({"queued"}),
}


class JobConflict(Exception):
    """A request that the job's current status does not allow (e.g. cancelling a finished job)."""


@dataclass
class JobManagerPaths:
    specs: Path
    work: Path
    artifacts: Path
    logs: Path


class JobManager:
    def __init__(
        self,
        *,
        db: Database,
        log: EventLog,
        broadcaster: Broadcaster,
        executor: Executor,
        paths: JobManagerPaths,
        report_url: str | None,
        heartbeat_timeout_s: float,
        cancel_grace_s: float,
        watchdog_interval_s: float,
        dataset_access: Callable[..., DatasetAccess] | None = None,
    ) -> None:
        self.db = db
        self.log = log
        self.broadcaster = broadcaster
        self.executor = executor
        self.paths = paths
        self.report_url = report_url
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self.cancel_grace_s = cancel_grace_s
        self.watchdog_interval_s = watchdog_interval_s
        # (org_id=..., uploaded_path=...) -> the worker's DatasetAccess; None: workers read what jobs name.
        self.dataset_access = dataset_access
        self._wake = threading.Condition()
        self._woken = False
        self._stopping = threading.Event()
        self._shutting_down = False
        self._launch_lock = threading.RLock()
        self._kill_reasons: dict[str, str] = {}
        self._thread: threading.Thread | None = None
        self._fanout: Any = None
        executor.bind(self.on_worker_exit)

    # ---- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        for path in (self.paths.specs, self.paths.work, self.paths.artifacts, self.paths.logs):
            path.mkdir(parents=True, exist_ok=True)
        if not self.db.is_sqlite:
            from .fanout import PostgresFanout

            self._fanout = PostgresFanout(self.db, self.broadcaster)
            self.log.notify = self._fanout.notify_in
            self._fanout.start()
        self.reconcile()
        self._thread = threading.Thread(target=self._loop, name="arkor-dispatch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop dispatching, stop every worker (SIGTERM, then SIGKILL) and re-queue their jobs (the next backend resumes them)."""
        self._shutting_down = True
        self._stopping.set()
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._launch_lock:
            self.executor.shutdown(grace_s=self.cancel_grace_s)
        if self._fanout is not None:
            self._fanout.stop()

    def wake(self) -> None:
        with self._wake:
            self._woken = True
            self._wake.notify_all()

    def reconcile(self) -> None:
        """Take over jobs a previous backend process left running: the executor watches those whose
        worker outlived it (Ray); the others are re-queued to resume (their leftover workers stopped)."""
        lost = self._adopt_running()
        if lost:
            logger.warning("re-queued %d job(s) left running by a previous backend", lost)

    # ---- the one transition function --------------------------------------------------------------

    def transition(
        self,
        session: Session,
        job_id: str,
        expected: str,
        target: str,
        *,
        error: str | None = None,
        event: JobEventBase | None = None,
        values: dict[str, Any] | None = None,
    ) -> list[StoredEvent] | None:
        """Move `job_id` from `expected` to `target` inside `session`; None if it was no longer `expected`.

        Returns the stored announcing event (publish it after the commit).
        """
        if target not in ALLOWED_TRANSITIONS[expected]:
            raise ValueError(f"job status cannot go from {expected} to {target}")
        changes: dict[str, Any] = {"status": target, **(values or {})}
        if target == "running":
            changes.setdefault("started_at", iso_now())
        if target == "queued":  # interrupted or resumed: the old worker's token and pid are void
            changes.update(worker_token_hash=None, pid=None)
        if target in TERMINAL_STATUSES:
            changes["completed_at"] = iso_now()
            changes["worker_token_hash"] = None
            if error is not None:
                changes["error"] = error
        # An UPDATE answers a cursor result (its `rowcount`); `Session.execute` is typed for any statement.
        result = cast(
            CursorResult[Any],
            session.execute(update(JobRow).where(JobRow.id == job_id, JobRow.status == expected).values(**changes)),
        )
        if result.rowcount != 1:
            return None
        if target in TERMINAL_STATUSES:
            self._forget_spec(job_id)  # its worker token no longer works; the file goes with it
        return self.log.append(session, job_id, [event]) if event else []

    def finish(
        self, job_id: str, expected: str, target: str, *, error: str | None = None, step: int | None = None
    ) -> bool:
        """A terminal transition decided by the backend (not reported by a worker), with its event."""
        event: JobEventBase
        if target == "failed":
            event = TrainingFailed(error=error or "job failed", step=step)
        elif target == "cancelled":
            event = TrainingCancelled(reason=error or "cancelled by user", step=step)
            error = None
        else:
            raise ValueError(f"finish() does not decide {target}")
        with self.db.write() as session:
            stored = self.transition(session, job_id, expected, target, error=error, event=event)
        if stored is None:
            return False
        self.broadcaster.publish(stored)
        self.wake()
        return True

    # ---- requests from the API ----------------------------------------------------------------------

    def cancel(self, job_id: str) -> str:
        """Cancel a job; returns the status it has now ("cancelled", or "running" while it stops).

        Raises JobConflict when the job already ended.
        """
        with self._launch_lock:  # a job being launched right now is either not yet claimed or has a worker
            with self.db.read() as session:
                job = session.get(JobRow, job_id)
            if job is None:
                raise KeyError(job_id)
            if job.status in TERMINAL_STATUSES:
                raise JobConflict(f"already {job.status}")
            if job.status == "queued":
                if self.finish(job_id, "queued", "cancelled", error="cancelled before it started"):
                    return "cancelled"
                return self.cancel(job_id)  # it was claimed meanwhile: cancel it as running
            with self.db.write() as session:
                session.execute(update(JobRow).where(JobRow.id == job_id).values(cancel_requested=True))
            if not self.executor.cancel(job_id, grace_s=self.cancel_grace_s):
                # No worker here (it just exited, or a restart lost it): end the job now, even when
                # it was re-queued to resume meanwhile (cancel wins).
                if not self.finish(job_id, "running", "cancelled", step=job.last_step):
                    self.finish(job_id, "queued", "cancelled", error="cancelled while waiting to resume")
        with self.db.read() as session:
            return session.execute(select(JobRow.status).where(JobRow.id == job_id)).scalar_one()

    def record_heartbeat(self, job_id: str, *, step: int | None, pid: int | None) -> bool:
        values: dict[str, Any] = {"heartbeat_at": time.time()}
        if step is not None:
            values["last_step"] = step
        with self.db.write() as session:
            result = cast(
                CursorResult[Any],
                session.execute(update(JobRow).where(JobRow.id == job_id, JobRow.status == "running").values(**values)),
            )
            cancel_requested = session.execute(
                select(JobRow.cancel_requested).where(JobRow.id == job_id)
            ).scalar_one_or_none()
        return bool(result.rowcount) and not cancel_requested

    def record_worker_events(
        self, job_id: str, payloads: list[JobEventBase], *, first_index: int | None = None
    ) -> list[StoredEvent]:
        """Store events a worker reported; a terminal one also ends the job. Raises JobConflict if it ended.

        `first_index` (the worker's index of `payloads[0]`) makes a retried batch safe: worker event i
        has seq i + 1 (the backend itself only ever appends a terminal event, after which nothing more
        is accepted), so events already stored are skipped.
        """
        terminal = [p for p in payloads if is_terminal(p)]
        if terminal and (len(terminal) > 1 or payloads[-1] is not terminal[0]):
            raise ValueError("a terminal event must be the last event of its batch, and only one")
        steps = (getattr(p, "step", None) for p in payloads)
        last_step = max((step for step in steps if isinstance(step, int)), default=None)
        with self.db.write() as session:
            status = session.execute(select(JobRow.status).where(JobRow.id == job_id)).scalar_one_or_none()
            if first_index is not None:
                already = self.log.last_seq(session, job_id) - first_index
                if already > 0:
                    payloads = payloads[already:]
                    terminal = [p for p in terminal if any(p is q for q in payloads)]
                if not payloads:
                    return []
            if status != "running":
                raise JobConflict(f"job is {status}; its events are no longer accepted")
            payloads = self._drop_replayed(session, job_id, payloads)
            if not payloads:
                return []
            stored: list[StoredEvent] = []
            body = payloads[:-1] if terminal else payloads
            if body:
                stored += self.log.append(session, job_id, body)
            if terminal:
                target = str(event_status(terminal[0]))
                error = getattr(terminal[0], "error", None) if target == "failed" else None
                result = self.transition(session, job_id, "running", target, error=error, event=terminal[0])
                if result is None:  # pragma: no cover - guarded by the status read under the write lock
                    raise JobConflict("job is no longer running")
                stored += result
            values: dict[str, Any] = {"heartbeat_at": time.time()}
            if last_step is not None:
                values["last_step"] = last_step
            session.execute(update(JobRow).where(JobRow.id == job_id).values(**values))
        self.broadcaster.publish(stored)
        if terminal:
            self.wake()
        return stored

    def _drop_replayed(self, session: Session, job_id: str, payloads: list[JobEventBase]) -> list[JobEventBase]:
        """A resumed worker redoes the steps after its checkpoint; a client must see each step once.

        The worker already leaves out what its spec says was stored; this guards against any worker
        that does not: log and checkpoint steps never go backwards or repeat, `training.started` is said once.
        """
        kinds = {p.type for p in payloads}
        if not kinds & {"training.log", "training.started", "checkpoint.saved"}:
            return payloads
        last_step = {"training.log": resume_plan.last_logged_step(session, job_id)}
        if "checkpoint.saved" in kinds:
            last_step["checkpoint.saved"] = resume_plan.last_checkpoint_step(session, job_id)
        started = "training.started" in kinds and resume_plan.has_event(session, job_id, "training.started")
        kept = []
        for payload in payloads:
            kind, step = payload.type, getattr(payload, "step", None)
            if kind in last_step and isinstance(step, int):
                if step <= last_step[kind]:
                    continue
                last_step[kind] = step
            if kind == "training.started" and started:
                continue
            kept.append(payload)
        return kept

    # ---- executor callbacks ---------------------------------------------------------------------------

    def on_worker_exit(self, exit_info: WorkerExit) -> None:
        job_id = exit_info.job_id
        self._forget_spec(job_id)
        with self.db.read() as session:
            job = session.get(JobRow, job_id)
        if job is None or job.status != "running":
            self.wake()
            return  # it reported its own end (or was ended by the backend) before exiting
        reason = self._kill_reasons.pop(job_id, None)
        if self._shutting_down:
            message = WorkerExitReason.BACKEND_SHUT_DOWN
        else:
            message = reason or exit_info.describe()
            tail = _last_lines(exit_info.log_tail, 5)
            if tail and reason is None:
                message += f". Last worker output:\n{tail}"
        self.interrupted(job_id, message)
        self.wake()

    def interrupted(self, job_id: str, reason: str) -> str | None:
        """A running job lost its worker without a terminal event: cancel it if that was asked for,
        else re-queue it to resume from its newest checkpoint, or fail it once `maxRestarts` are used.

        Returns the status it got (None when it was no longer running).
        """
        with self.db.write() as session:
            job = session.get(JobRow, job_id)
            if job is None or job.status != "running":
                return None
            step = job.last_step
            event: TrainingCancelled | TrainingFailed | TrainingResumed
            if job.cancel_requested:
                target, event, error = "cancelled", TrainingCancelled(reason="cancelled by user", step=step), None
            else:
                past = resume_plan.history(session, job_id)
                limit = _max_restarts(job.config)
                if past.restarts >= limit:
                    error = resume_plan.exhausted_message(limit, [*past.reasons, reason])
                    target, event = "failed", TrainingFailed(error=error, step=step)
                else:
                    resume_step = resume_plan.resumable_step(session, job_id)
                    target, error = "queued", None
                    event = TrainingResumed(step=resume_step, reason=reason, restarts=past.restarts + 1)
            stored = self.transition(session, job_id, "running", target, error=error, event=event)
        if stored is None:
            return None
        if target == "queued":
            logger.warning("job %s was interrupted (%s); re-queued to resume from step %s", job_id, reason, event.step)
        self.broadcaster.publish(stored)
        self.wake()
        return target

    def resume(self, job_id: str) -> str:
        """Put a failed or cancelled job back in the queue to go on from its newest checkpoint, as the same job.

        Raises KeyError for an unknown job and JobConflict when it is not failed or cancelled.
        """
        with self.db.write() as session:
            job = session.get(JobRow, job_id)
            if job is None:
                raise KeyError(job_id)
            if job.status not in ("failed", "cancelled"):
                what = (
                    "it completed; there is nothing left to train"
                    if job.status == "completed"
                    else f"it is {job.status}"
                )
                raise JobConflict(f"only a failed or cancelled job can be resumed; {what}")
            event = TrainingResumed(
                step=resume_plan.resumable_step(session, job_id), reason=resume_plan.MANUAL_RESUME_REASON, restarts=0
            )
            stored = self.transition(
                session,
                job_id,
                job.status,
                "queued",
                event=event,
                values={"error": None, "completed_at": None, "cancel_requested": False},
            )
        if stored is None:
            raise JobConflict("the job changed while it was being resumed; try again")
        self.broadcaster.publish(stored)
        self.wake()
        return "queued"

    def _adopt_running(self) -> int:
        """Ask the executor to adopt every running job it does not watch; interrupt those it finds
        lost. Returns how many were interrupted."""
        watched = set(self.executor.running())
        with self.db.read() as session:
            rows = session.execute(
                select(JobRow.id, JobRow.pid, JobRow.heartbeat_at).where(JobRow.status == "running")
            ).all()
        lost = 0
        for job_id, pid, heartbeat_at in rows:
            if job_id in watched:
                continue
            adoption = self.executor.adopt(job_id, pid=pid)
            if adoption.watching:
                continue
            if adoption.grace_s and (heartbeat_at or 0) > time.time() - adoption.grace_s:
                continue  # just claimed elsewhere; its worker may not exist yet
            if self.interrupted(job_id, adoption.lost_reason) is not None:
                lost += 1
        return lost

    # ---- dispatch loop ----------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self._dispatch()
                self._adopt_running()
                self._check_heartbeats()
            except Exception:  # keep dispatching; one bad job must not stop the queue
                logger.exception("dispatch loop error")
            with self._wake:
                if not self._woken:
                    self._wake.wait(timeout=self.watchdog_interval_s)
                self._woken = False

    def _dispatch(self) -> None:
        while not self._stopping.is_set() and self.executor.free_slots() > 0:
            with self._launch_lock:
                if self._stopping.is_set():
                    return
                token = new_token("arkw")
                with self.db.write() as session:
                    oldest = (
                        select(JobRow).where(JobRow.status == "queued").order_by(JobRow.created_at, JobRow.id).limit(1)
                    )
                    if not self.db.is_sqlite:
                        # Replicas claim different jobs instead of queueing on the same row lock.
                        oldest = oldest.with_for_update(skip_locked=True)
                    job = session.execute(oldest).scalar_one_or_none()
                    if job is None:
                        return
                    values: dict[str, Any] = {"worker_token_hash": hash_token(token), "heartbeat_at": time.time()}
                    if job.started_at:  # a resumed job keeps the time it first started
                        values["started_at"] = job.started_at
                    claimed = self.transition(session, job.id, "queued", "running", values=values)
                if claimed is None:
                    continue  # cancelled (or claimed by another replica) meanwhile
                try:
                    spec_path = self._write_spec(job, token)
                    pid = self.executor.submit(job.id, spec_path)
                except Exception as exc:
                    logger.exception("could not start job %s", job.id)
                    self.finish(job.id, "running", "failed", error=f"could not start the worker: {exc}")
                    continue
                with self.db.write() as session:
                    session.execute(update(JobRow).where(JobRow.id == job.id).values(pid=pid))

    def _write_spec(self, job: JobRow, token: str) -> Path:
        config = JobConfig.model_validate(job.config)
        uploaded_paths: list[Path] = []
        for key in ("dataset_source", "eval_dataset"):  # a worker reads files, not upload ids
            source = getattr(config, key)
            if isinstance(source, UploadedDatasetSource):
                with self.db.read() as session:
                    dataset = session.execute(
                        select(DatasetRow).where(DatasetRow.id == source.dataset_id, DatasetRow.org_id == job.org_id)
                    ).scalar_one_or_none()
                if dataset is None:
                    raise FileNotFoundError(f"uploaded dataset {source.dataset_id} no longer exists")
                config = config.model_copy(update={key: FileDatasetSource(path=dataset.path)})
                uploaded_paths.append(Path(dataset.path))
        access = None
        if self.dataset_access is not None:
            access = self.dataset_access(org_id=job.org_id, uploaded_paths=uploaded_paths)
            from arkor.engine.data.access import allowed_file_path

            for key in ("dataset_source", "eval_dataset"):
                source = getattr(config, key)
                if isinstance(source, FileDatasetSource):
                    # Checked at creation; again here because an executor may read the file on this side.
                    allowed_file_path(source.path, access.file_roots)
        report = ReportTarget(url=self.report_url, token=token) if self.report_url else None
        with self.db.read() as session:
            event_base = self.log.last_seq(session, job.id)
            resume = resume_plan.resume_info(session, job.id, self.paths.artifacts)
        spec = WorkerSpec(
            job_id=job.id,
            config=config,
            output_dir=str(self.paths.work / job.id),
            report=report,
            dataset_access=access,
            event_base=event_base,
            resume=resume,
            resume_from_step=resume.step if resume else None,
        )
        path = self.spec_path(job.id)
        # It holds the job's worker token: created 0600 from the start (never readable for a moment),
        # under a fresh name so nobody can have opened it before, then renamed into place.
        tmp = path.with_name(f".{job.id}.{secrets.token_hex(8)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(spec.model_dump_json(by_alias=True, exclude_none=True))
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return path

    def spec_path(self, job_id: str) -> Path:
        return self.paths.specs / f"{job_id}.json"

    def _forget_spec(self, job_id: str) -> None:
        """A finished job's spec (and the worker token in it) is deleted."""
        try:
            self.spec_path(job_id).unlink(missing_ok=True)
        except OSError:
            logger.warning("could not delete the spec file of job %s", job_id)

    def _check_heartbeats(self) -> None:
        deadline = time.time() - self.heartbeat_timeout_s
        with self.db.read() as session:
            silent = session.execute(
                select(JobRow.id, JobRow.last_step).where(JobRow.status == "running", JobRow.heartbeat_at < deadline)
            ).all()
        for job_id, _last_step in silent:
            if self.executor.pending(job_id):
                # Waiting in Ray's queue for resources is not silence; keep it from looking stale to any replica.
                with self.db.write() as session:
                    session.execute(
                        update(JobRow)
                        .where(JobRow.id == job_id, JobRow.status == "running")
                        .values(heartbeat_at=time.time())
                    )
                continue
            reason = (
                f"worker stopped sending heartbeats for {self.heartbeat_timeout_s:g} s "
                "(it may be hung or unreachable); raise ARKOR_HEARTBEAT_TIMEOUT_S if steps are that slow"
            )
            self._kill_reasons[job_id] = reason
            if not self.executor.kill(job_id):
                self._kill_reasons.pop(job_id, None)
                self.interrupted(job_id, reason)


def _max_restarts(config: dict[str, Any]) -> int:
    value = config.get("maxRestarts") if isinstance(config, dict) else None
    return value if isinstance(value, int) and value >= 0 else DEFAULT_MAX_RESTARTS


def _last_lines(text: str, count: int) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines[-count:])

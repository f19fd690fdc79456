"""What the job's own event log says about resuming it: its restarts so far and where to go on from.

The event log is the record: every automatic restart is a stored `training.resumed` event (with its
reason), a manual resume is one with `restarts: 0` (the count starts again after it), and a
checkpoint is resumable once its `checkpoint.saved` event lists the trainer-state marker (the
worker announces a checkpoint only after it landed atomically). No extra columns are needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from arkor.protocol import ResumeInfo
from arkor.protocol.artifacts import ArtifactLayout, is_resume_marker

from .models import EventRow

MANUAL_RESUME_REASON = "resumed by request"


@dataclass
class RestartHistory:
    restarts: int = 0
    """Automatic restarts since the job was created or last resumed by hand."""
    reasons: list[str] = field(default_factory=list)


def history(session: Session, job_id: str) -> RestartHistory:
    rows = session.execute(
        select(EventRow.payload)
        .where(EventRow.job_id == job_id, EventRow.type == "training.resumed")
        .order_by(EventRow.seq)
    ).scalars()
    result = RestartHistory()
    for payload in rows:
        if not payload.get("restarts"):
            result = RestartHistory()  # a manual resume: a fresh budget
            continue
        result.restarts += 1
        result.reasons.append(str(payload.get("reason") or "unknown"))
    return result


def _last_payload(session: Session, job_id: str, event_type: str) -> dict | None:
    return session.execute(
        select(EventRow.payload)
        .where(EventRow.job_id == job_id, EventRow.type == event_type)
        .order_by(EventRow.seq.desc())
        .limit(1)
    ).scalar_one_or_none()


def has_event(session: Session, job_id: str, event_type: str) -> bool:
    return _last_payload(session, job_id, event_type) is not None


def last_logged_step(session: Session, job_id: str) -> int:
    """The newest step a `training.log` was stored for (steps only go forward, so the last one)."""
    payload = _last_payload(session, job_id, "training.log")
    step = payload.get("step") if payload else None
    return step if isinstance(step, int) else 0


def last_checkpoint_step(session: Session, job_id: str) -> int:
    payload = _last_payload(session, job_id, "checkpoint.saved")
    step = payload.get("step") if payload else None
    return step if isinstance(step, int) else 0


def resumable_step(session: Session, job_id: str) -> int:
    """The newest checkpoint a worker can resume from (0: none yet, start over)."""
    rows = session.execute(
        select(EventRow.payload)
        .where(EventRow.job_id == job_id, EventRow.type == "checkpoint.saved")
        .order_by(EventRow.seq.desc())
    ).scalars()
    for payload in rows:
        names = [a.get("pathname", "") for a in payload.get("artifacts") or [] if isinstance(a, dict)]
        if any(is_resume_marker(name) for name in names) and isinstance(payload.get("step"), int):
            return payload["step"]
    return 0


def resume_info(session: Session, job_id: str, artifacts_root: Path) -> ResumeInfo | None:
    """What a worker launched for `job_id` needs to go on; None for a job that never ran."""
    started = _last_payload(session, job_id, "training.started") is not None
    resumed = _last_payload(session, job_id, "training.resumed") is not None
    if not started and not resumed:
        return None
    step = resumable_step(session, job_id)
    folder = ArtifactLayout(artifacts_root / job_id).checkpoint(step)
    return ResumeInfo(
        step=step,
        logged_through_step=last_logged_step(session, job_id),
        started_reported=started,
        checkpoint_dir=str(folder) if step and folder.is_dir() else None,
    )


def exhausted_message(limit: int, reasons: list[str]) -> str:
    listed = "; ".join(f"{i}) {reason}" for i, reason in enumerate(reasons, 1))
    times = "once" if len(reasons) == 1 else f"{len(reasons)} times"
    return (
        f"the job was interrupted {times} and its maxRestarts ({limit}) are used up: {listed}. "
        "Fix the cause (or raise maxRestarts), then `arkor jobs resume JOB` goes on from the last checkpoint."
    )

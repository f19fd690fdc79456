"""What an executor hands a worker, what a worker posts back to the backend, and how a worker ends."""

from __future__ import annotations

from enum import IntEnum

from ._base import WireModel
from .events import AnyJobEvent
from .jobs import JobConfig


class ReportTarget(WireModel):
    """Where a worker reports: the backend's internal API and this job's own token."""

    url: str
    token: str


class DatasetAccess(WireModel):
    """What a worker launched by a backend may read for its dataset (the backend's policy, checked again
    where the source is opened). A worker run without one (a local run) reads what its user names."""

    file_roots: list[str] | None = None
    """Resolved folders (or files) a `file` source must lie under; None: any path."""
    blob_allow_private: bool = False
    blob_max_bytes: int | None = None
    blob_timeout_s: float | None = None
    cache_scope: str | None = None
    """Who the download is for (the org id): blob downloads are reused only within one scope."""


class ResumeInfo(WireModel):
    """What a worker restarted for an interrupted job needs to go on where the last one stopped."""

    step: int = 0
    """The checkpoint to resume from (`<output_dir>/checkpoints/step-<step>`); 0: from the start."""
    logged_through_step: int = 0
    """The last step a `training.log` was stored for: the worker does not report steps up to it again."""
    started_reported: bool = False
    """`training.started` was already stored; a resumed run does not announce itself as new."""
    checkpoint_dir: str | None = None
    """Where the backend holds that checkpoint's files (an executor on another node ships them along)."""


class WorkerSpec(WireModel):
    """One job for `python -m arkor.engine.worker --spec FILE`.

    `config.dataset_source` is already resolved to something the worker can
    read by itself (a `file` path it can see, a `huggingface` name or a `blob`
    URL). The worker always writes `events.jsonl` and the artifacts under
    `output_dir`; with `report` set it also posts each event and uploads each
    artifact to the backend.
    """

    job_id: str
    config: JobConfig
    output_dir: str
    report: ReportTarget | None = None
    resume_from_step: int | None = None
    dataset_access: DatasetAccess | None = None
    event_base: int = 0
    """How many events the job already has: this worker's event i is the job's event `event_base + i + 1`."""
    resume: ResumeInfo | None = None


class WorkerEventBatch(WireModel):
    """Events a worker posts, each a registered `arkor.protocol.events` model (validated on arrival)."""

    events: list[AnyJobEvent]
    first_index: int | None = None
    """0-based index of `events[0]` among all events this worker has emitted for the job. A worker
    retries a batch whose answer it did not get; the backend skips events it already stored, so
    each event is stored exactly once."""


class WorkerEventsAccepted(WireModel):
    """Answer to a worker's event batch: how many of its events were new (the rest were stored before)."""

    accepted: int


class HeartbeatResponse(WireModel):
    """Answer to a worker's heartbeat; `cancel_requested` asks it to stop at its next step boundary."""

    ok: bool = True
    cancel_requested: bool


class HeartbeatRequest(WireModel):
    step: int | None = None
    pid: int | None = None


class WorkerExitCode(IntEnum):
    """How the worker entry (`arkor.engine.worker.run_worker`) ends, under every executor: a local
    subprocess's exit status, a Ray actor's result, a test thread's return value."""

    REPORTED = 0
    """The worker reported the job's end itself: a terminal event (completed, or failed with its reason)."""
    CRASHED = 1
    """An unexpected error ended the worker before it reported an end; its log holds the traceback.
    (Python's own status for an uncaught exception, so a crash the entry could not catch reads the same.)"""
    BAD_SPEC = 2
    """The job spec could not be read or is not a `WorkerSpec`."""
    STOPPED = 143
    """Stopped on request (SIGTERM or SIGINT, or an executor's stop) at a step boundary, without a
    terminal event: the backend records the cancellation. 128 + SIGTERM, as a shell reports it."""


class WorkerExitReason:
    """What a user reads about a job that lost its worker without a terminal event (the job's
    `training.resumed` reason, or its error once its restarts are used up). `{...}` fields are filled in."""

    NO_RESULT = "worker process exited without reporting a result"
    EXIT_CODE = "worker process exited with code {code}"
    KILLED_BY_SIGNAL = "worker process was killed by signal {signum} ({name})"
    OUT_OF_MEMORY_HINT = "; the machine may have run out of memory"
    RAY_WORKER_DIED = "the job's Ray worker died (killed, out of memory, or its node was lost): {detail}"
    RAY_CONTACT_LOST = "lost contact with the job's Ray actor: {detail}"
    RAY_ACTOR_LOST = "the job's Ray actor no longer exists (its node was lost, or the Ray cluster was restarted)"
    BACKEND_RESTARTED = "backend restarted while the job was running"
    BACKEND_SHUT_DOWN = "backend was shut down while the job was running"

"""What callbacks receive: one dataclass per lifecycle event (SPEC section 3).

Each holds `job`, the trainer's local snapshot of the job (status updated by events; the SDK never
re-fetches it). Metrics missing from an event are None.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from arkor.protocol import Artifact, JobEventBase, TrainingJob

from .infer import AsyncInferResponse, InferResponse


@dataclass
class EventContext:
    """Every event of the job (`on_event`), as its `arkor.protocol` model: a type this SDK does not
    know arrives as a `GenericEvent` with all its fields. `job` is the snapshot after the event."""

    event: JobEventBase
    job: TrainingJob


@dataclass
class StartedContext:
    job: TrainingJob


@dataclass
class LogContext:
    step: int | None
    loss: float | None
    eval_loss: float | None
    learning_rate: float | None
    epoch: float | None
    samples_per_second: float | None
    tokens_per_second: float | None
    job: TrainingJob


@dataclass
class EvaluationContext:
    """Task accuracy at one eval step (`evaluation.completed`): `accuracy` is the share of scored
    rows with every field exact, `fields` the share per field (0..1), `scorer` who scored them."""

    step: int | None
    accuracy: float | None
    fields: dict[str, float]
    scorer: str | None
    rows: int | None
    job: TrainingJob


@dataclass
class CheckpointContext:
    """`infer(...)` chats with this checkpoint (`adapter`); in async code use `infer_async(...)`."""

    step: int
    adapter: dict[str, Any]
    job: TrainingJob
    infer: Callable[..., InferResponse]
    infer_async: Callable[..., Awaitable[AsyncInferResponse]]
    artifacts: list[Artifact | dict[str, Any]] = field(default_factory=list)


@dataclass
class CompletedContext:
    job: TrainingJob
    artifacts: list[Artifact | dict[str, Any]]
    metrics: dict[str, Any]


@dataclass
class FailedContext:
    job: TrainingJob
    error: str


@dataclass
class TrainingResult:
    """What `wait()` returns. A failed or cancelled run is a result, not an exception."""

    job: TrainingJob
    artifacts: list[Artifact | dict[str, Any]]

    def raise_for_status(self) -> TrainingResult:
        """Raise `JobFailedError` / `JobCancelledError` unless the job completed; else return self."""
        from .errors import JobCancelledError, JobFailedError

        if self.job.status == "failed":
            raise JobFailedError(self.job.id, self.job.error)
        if self.job.status == "cancelled":
            raise JobCancelledError(self.job.id)
        return self


@dataclass(frozen=True)
class StartResult:
    job_id: str

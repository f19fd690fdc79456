"""Job events: what a worker reports and what the event stream carries.

On the SSE stream each frame is `id: <per-job integer>`, `event: <type>` and
`data: <JSON of one of these models>`; the JSON repeats the name in `type`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from ._base import WireModel

TERMINAL_EVENT_TYPES: frozenset[str] = frozenset(
    {"training.completed", "training.failed", "training.cancelled"}
)


class Artifact(WireModel):
    """A file a job produced. `pathname` is relative to the job's artifact root,
    e.g. `final/adapter_model.safetensors` or `checkpoints/step-10/adapter_config.json`."""

    pathname: str
    size: int | None = None
    sha256: str | None = None
    url: str | None = None


class _EventBase(WireModel):
    job_id: str | None = None
    timestamp: str | None = None


class TrainingStartedMetadata(WireModel):
    device: str | None = None
    dtype: str | None = None
    model: str | None = None
    trainable_params: int | None = None
    total_params: int | None = None
    dataset_rows: int | None = None
    eval_rows: int | None = None
    max_steps: int | None = None
    dataset_format: str | None = None
    load_seconds: float | None = None
    dataset_stats: dict[str, Any] | None = None


class TrainingStarted(_EventBase):
    type: Literal["training.started"] = "training.started"
    metadata: TrainingStartedMetadata | None = None


class TrainingLog(_EventBase):
    type: Literal["training.log"] = "training.log"
    step: int
    loss: float | None = None
    eval_loss: float | None = None
    learning_rate: float | None = None
    epoch: float | None = None
    samples_per_second: float | None = None
    tokens_per_second: float | None = None


class EvaluationCompleted(_EventBase):
    """Task accuracy at one eval step: `rows` rows of the trainer's `eval_dataset` decoded greedily
    and scored by `scorer`. `accuracy` is the share of rows with every field exact; `fields` the
    share per field. All values 0..1."""

    type: Literal["evaluation.completed"] = "evaluation.completed"
    step: int = Field(ge=0)
    scorer: str
    accuracy: float = Field(ge=0, le=1)
    fields: dict[str, Annotated[float, Field(ge=0, le=1)]] = {}
    rows: int = Field(ge=0)


class CheckpointSaved(_EventBase):
    type: Literal["checkpoint.saved"] = "checkpoint.saved"
    step: int
    artifacts: list[Artifact] = []


class TrainingCompleted(_EventBase):
    type: Literal["training.completed"] = "training.completed"
    metrics: dict[str, Any] = {}
    artifacts: list[Artifact] = []


class TrainingFailed(_EventBase):
    type: Literal["training.failed"] = "training.failed"
    error: str
    step: int | None = None


class TrainingCancelled(_EventBase):
    """Our extension: a job that was cancelled ends with this event."""

    type: Literal["training.cancelled"] = "training.cancelled"
    step: int | None = None
    reason: str | None = None


class TrainingResumed(_EventBase):
    """The job lost its worker (or backend, or Ray node) and goes on from the checkpoint at `step`
    (0: from the start) as the same job; `restarts` counts the automatic resumes so far."""

    type: Literal["training.resumed"] = "training.resumed"
    step: int = 0
    reason: str
    restarts: int = 0


JobEvent = Annotated[
    TrainingStarted | TrainingLog | EvaluationCompleted | CheckpointSaved | TrainingCompleted | TrainingFailed | TrainingCancelled | TrainingResumed,
    Field(discriminator="type"),
]

_EVENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(JobEvent)


def parse_event(data: dict[str, Any]) -> Any:
    """Validate one event payload into its model (raises pydantic.ValidationError)."""
    return _EVENT_ADAPTER.validate_python(data)

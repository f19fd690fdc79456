"""Training jobs: the job config (a user's trainer on the wire), the job resource and its lists."""

from __future__ import annotations

import difflib
from typing import Any, ClassVar

from pydantic import BaseModel, Field, field_validator

from ._base import WireModel
from .datasets import DatasetFormat, DatasetSource
from .durations import parse_duration
from .events import Artifact
from .status import JobStatus

# The optimizer and scheduler names the engine trains with (read by the engine and by `create_trainer`).
OPTIMIZERS_ANYWHERE: tuple[str, ...] = ("adamw_torch", "adamw", "sgd", "adafactor")
OPTIMIZERS_CUDA_ONLY: tuple[str, ...] = ("adamw_8bit", "paged_adamw_8bit")
LR_SCHEDULER_TYPES: tuple[str, ...] = (
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
    "cosine_with_min_lr",
    "warmup_stable_decay",
)
DEFAULT_MAX_RESTARTS = 2
DEFAULT_SAVE_TOTAL_LIMIT = 3
# Experiment trackers a job can report to (`report_to`), each an optional extra of the same name.
TRACKERS: tuple[str, ...] = ("tensorboard", "mlflow", "wandb")


class TrainingHyperparameters(BaseModel):
    """The training knobs a trainer and a job config share, with their allowed ranges.

    Defined once: the wire `JobConfig` and the SDK's `create_trainer` input both inherit these fields
    (each with its own naming and strictness), so a range changes in one place.
    """

    max_steps: int | None = Field(default=None, gt=0)
    num_train_epochs: float | None = Field(default=None, gt=0)
    learning_rate: float | None = Field(default=None, gt=0, lt=1)
    batch_size: int | None = Field(default=None, gt=0, le=4096)
    gradient_accumulation_steps: int | None = Field(default=None, gt=0, le=4096)
    optim: str | None = None
    lr_scheduler_type: str | None = None
    weight_decay: float | None = Field(default=None, ge=0)
    warmup_steps: int | None = Field(default=None, ge=0)
    logging_steps: int | None = Field(default=None, gt=0)
    save_steps: int | None = Field(default=None, gt=0)
    eval_steps: int | None = Field(default=None, gt=0)
    train_on_responses_only: bool | None = None
    dataset_split: str | None = None
    seed: int | None = None
    dry_run: bool | None = None
    save_total_limit: int | None = Field(default=None, gt=0, le=1000)
    """How many of the newest checkpoints a run keeps on disk (older ones are deleted; the final adapter always stays)."""
    max_restarts: int | None = Field(default=None, ge=0, le=100)
    """How often a job whose worker, backend or Ray node died is resumed from its last checkpoint before it fails."""
    # A wall-clock budget for the optimizer loop ("90s", "3m", "1h30m", or seconds as a number): the
    # run ends with a final adapter when it is spent, and the LR schedule reaches its end by then.
    max_time: str | float | None = None
    # Task accuracy while training: at each eval step the engine decodes (greedily) a bounded number
    # of rows of `eval_dataset` and scores them with `eval_scorer` (a template's name, "json_fields"
    # or "exact"), emitting `evaluation.completed`.
    eval_dataset: DatasetSource | None = None
    eval_scorer: str | None = Field(default=None, min_length=1, max_length=64)
    eval_rows: int | None = Field(default=None, gt=0, le=1000)
    report_to: list[str] | None = Field(default=None, max_length=len(TRACKERS))
    """Experiment trackers the run reports to (`TRACKERS`); each needs its optional extra installed."""
    torch_compile: bool | None = None
    """Compile the decoder layers with `torch.compile` for the training steps (off by default: the first
    step builds the kernels, which pays off on long runs only; a failed build falls back to eager)."""

    @field_validator("max_time", mode="before")
    @classmethod
    def _max_time_is_a_duration(cls, value: Any) -> Any:
        if value is not None:
            parse_duration(value)  # raises ValueError with the accepted spellings
        return value

    @field_validator("report_to", mode="before")
    @classmethod
    def _one_tracker_as_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("report_to")
    @classmethod
    def _known_trackers(cls, value: list[str] | None) -> list[str] | None:
        for name in value or []:
            if name not in TRACKERS:
                close = difflib.get_close_matches(name, TRACKERS, n=1, cutoff=0.6)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise ValueError(
                    f"{name!r} is not a tracker arkor can report to.{hint} Supported: {', '.join(TRACKERS)}"
                )
        return list(dict.fromkeys(value)) if value is not None else None


class JobConfig(WireModel, TrainingHyperparameters):
    """Everything the backend needs to run a training job.

    Optional fields left as None take the backend's defaults (see
    `arkor.engine.config.resolve_plan`). Validation here is structural
    (types and ranges); the backend also rejects unknown keys with a did-you-mean.
    """

    # A backend that does not echo the rest of the config is still read (only `model` is needed).
    read_required: ClassVar[frozenset[str]] = frozenset({"model"})

    model: str = Field(min_length=1)
    dataset_source: DatasetSource
    lora_r: int | None = Field(default=None, gt=0, le=1024)
    lora_alpha: float | None = Field(default=None, gt=0)
    lora_dropout: float | None = Field(default=None, ge=0, lt=1)
    target_modules: list[str] | None = None
    # LoRA on the last N transformer layers only: the backward pass stops below them.
    lora_last_layers: int | None = Field(default=None, gt=0, le=1024)
    max_length: int | None = Field(default=None, ge=8, le=131072)
    load_in_4bit: bool | None = Field(default=None, alias="loadIn4bit")  # the original's spelling
    dataset_format: DatasetFormat | None = None

    @field_validator("dataset_format", mode="before")
    @classmethod
    def _format_from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"type": value}
        return value


JOB_CONFIG_WIRE_KEYS: frozenset[str] = frozenset(
    (field.alias or name) for name, field in JobConfig.model_fields.items()
)


def unknown_config_keys(config: dict[str, Any]) -> list[str]:
    """Messages for keys of a wire job config that no field takes, each with a did-you-mean."""
    messages = []
    for key in config:
        if key in JOB_CONFIG_WIRE_KEYS:
            continue
        close = difflib.get_close_matches(key, sorted(JOB_CONFIG_WIRE_KEYS), n=1, cutoff=0.6)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        messages.append(f"config.{key} is not a known field.{hint}")
    return messages


class JobCreateRequest(WireModel):
    name: str = Field(min_length=1, max_length=200)
    config: JobConfig


class TrainingJob(WireModel):
    id: str
    org_id: str
    project_id: str
    name: str
    status: JobStatus
    config: JobConfig
    error: str | None = None
    created_at: str
    started_at: str | None = None
    completed_at: str | None = None


class JobResponse(WireModel):
    job: TrainingJob
    events: list[dict[str, Any]] | None = None


class JobListResponse(WireModel):
    jobs: list[TrainingJob]


class ArtifactListResponse(WireModel):
    artifacts: list[Artifact]


class CheckpointInfo(WireModel):
    step: int
    artifacts: list[Artifact]
    created_at: str | None = None


class CheckpointListResponse(WireModel):
    checkpoints: list[CheckpointInfo]


class JobCancelResponse(WireModel):
    """Answer to `POST /v1/jobs/{id}/cancel`: the job as it is after a short wait for its worker to stop."""

    ok: bool = True
    job: TrainingJob

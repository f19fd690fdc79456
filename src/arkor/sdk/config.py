"""`create_trainer` input: validated at construction, turned into the wire `JobConfig`.

Every problem is reported at once, each naming the field (`lora.r`, `learning_rate`) and what is
allowed; unknown fields get a did-you-mean. Python has no compiler to catch these, so we check.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from arkor.model_families import last_layers_problem
from arkor.protocol import (
    DATASET_FILE_EXTENSIONS,
    LR_SCHEDULER_TYPES,
    OPTIMIZERS_ANYWHERE,
    OPTIMIZERS_CUDA_ONLY,
    DatasetSource,
    FileDatasetSource,
    JobConfig,
    TrainingHyperparameters,
)

from .errors import TrainerConfigError
from .models import is_accepted_model, unsupported_model_message

DatasetFormatName = Literal["auto", "messages", "chatml", "prompt_completion", "alpaca", "text"]


class LoraInput(BaseModel):
    """LoRA settings; each left unset takes the backend's default.

    `r` defaults to 16; `alpha` defaults to `r` (a LoRA scale of 1.0), so `lora={"r": 8}` trains
    with alpha 8. `dropout` defaults to 0, `target_modules` to every linear projection.
    `last_layers` puts the adapter on the model's last N transformer layers only (default: all):
    the backward pass then stops below them, so a step costs less.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    r: int | None = Field(default=None, gt=0, le=1024)
    alpha: float | None = Field(default=None, gt=0)
    max_length: int | None = Field(default=None, ge=8, le=131072)
    load_in_4bit: bool | None = None
    target_modules: list[str] | None = None
    dropout: float | None = Field(default=None, ge=0, lt=1)
    last_layers: int | None = Field(default=None, gt=0, le=1024)


class TrainerInput(TrainingHyperparameters):
    """Every `create_trainer` field except callbacks and the abort signal."""

    model_config = ConfigDict(extra="forbid", strict=True, arbitrary_types_allowed=True)

    name: str = Field(min_length=1, max_length=200)
    model: str = Field(min_length=1)
    dataset: Any
    lora: LoraInput | None = None
    dataset_format: DatasetFormatName | None = None
    eval_dataset: Any = None  # any dataset source, checked like `dataset`

    @field_validator("optim")
    @classmethod
    def _known_optimizer(cls, value: str | None) -> str | None:
        return _one_of(
            value,
            OPTIMIZERS_ANYWHERE + OPTIMIZERS_CUDA_ONLY,
            "optimizer",
            f" ({', '.join(OPTIMIZERS_CUDA_ONLY)} need a CUDA GPU)",
        )

    @field_validator("lr_scheduler_type")
    @classmethod
    def _known_scheduler(cls, value: str | None) -> str | None:
        return _one_of(value, LR_SCHEDULER_TYPES, "learning-rate scheduler")

    @field_validator("dataset_format", mode="before")
    @classmethod
    def _format_from_object(cls, value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"type"}:
            return value["type"]
        return getattr(value, "type", value) if not isinstance(value, (str, type(None))) else value


TRAINER_FIELDS: tuple[str, ...] = tuple(TrainerInput.model_fields) + ("callbacks", "abort_signal")
LORA_FIELDS: tuple[str, ...] = tuple(LoraInput.model_fields)
_DATASET_ADAPTER: TypeAdapter[Any] = TypeAdapter(DatasetSource)


def _did_you_mean(name: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f" Did you mean `{close[0]}`?" if close else ""


def _one_of(value: str | None, choices: tuple[str, ...], what: str, note: str = "") -> str | None:
    if value is None or value in choices:
        return value
    raise ValueError(
        f"{value!r} is not a supported {what}.{_did_you_mean(value, choices)} Supported: {', '.join(choices)}{note}"
    )


_LISTED_FILES = 2000  # a did-you-mean looks at this many names in the folder at most


def _nearby(path: Path, written: str) -> str:
    """` Did you mean `data/train.jsonl`?` for a dataset file that is not there."""
    folder = path.parent
    if not folder.is_dir():
        return f" The folder {folder} does not exist."
    names = []
    with os.scandir(folder) as entries:
        for index, entry in enumerate(entries):
            if index >= _LISTED_FILES:
                break
            if Path(entry.name).suffix.lower() in DATASET_FILE_EXTENSIONS and entry.is_file():
                names.append(entry.name)
    close = difflib.get_close_matches(path.name, sorted(names), n=1, cutoff=0.6)
    if not close:
        return ""
    parent = Path(written).parent
    return f" Did you mean `{(parent / close[0]).as_posix() if str(parent) != '.' else close[0]}`?"


def local_file_problems(
    source: FileDatasetSource, base_dir: Any, *, field: str = "dataset.path"
) -> list[tuple[str, str]]:
    """A local dataset file that cannot be uploaded: a wrong extension or a missing file (checked now,
    not at `start()`). Relative paths start at `base_dir` (the project folder)."""
    written = source.path
    path = Path(written).expanduser()
    resolved = path if path.is_absolute() else Path(base_dir or os.getcwd()) / path
    suffix = resolved.suffix.lower()
    if suffix not in DATASET_FILE_EXTENSIONS:
        kinds = f"{', '.join(DATASET_FILE_EXTENSIONS[:-1])} or {DATASET_FILE_EXTENSIONS[-1]}"
        ending = f"it ends in {suffix!r}" if suffix else "it has no extension"
        return [(field, f"{written!r} is not a dataset file ({ending}); use a {kinds} file")]
    if not resolved.is_file():
        start = "" if path.is_absolute() else f" (relative paths start at {Path(base_dir or os.getcwd())})"
        return [(field, f"file not found: {resolved}{start}.{_nearby(resolved, written)}")]
    return []


def _describe(error: Mapping[str, Any], prefix: str = "") -> tuple[str, str]:
    location = ".".join(str(part) for part in error["loc"])
    field = f"{prefix}{location}" if location else prefix.rstrip(".") or "input"
    if error["type"] == "extra_forbidden":
        leaf = str(error["loc"][-1])
        choices = LORA_FIELDS if error["loc"][0] == "lora" else TRAINER_FIELDS
        return field, f"is not a known field.{_did_you_mean(leaf, choices)} Allowed: {', '.join(choices)}"
    if error["type"] == "missing":
        return field, "is required"
    if error["type"] == "value_error":  # our own validators usually name the value already
        message = str(error["msg"]).removeprefix("Value error, ")
        shown = repr(error.get("input"))
        return field, message if shown in message else f"{message} (got {shown})"
    return field, f"{error['msg']} (got {error.get('input')!r})"


def validate_trainer_input(raw: dict[str, Any], *, base_dir: Any = None) -> tuple[TrainerInput, Any]:
    """Validate `create_trainer` keyword arguments; return the input and the parsed dataset source.

    Raises:
        TrainerConfigError: listing every problem, each with its field.
    """
    problems: list[tuple[str, str]] = []
    parsed: TrainerInput | None = None
    try:
        parsed = TrainerInput.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_describe(err) for err in exc.errors())

    model = raw.get("model")
    if isinstance(model, str) and model and not is_accepted_model(model, base_dir=base_dir):
        problems.append(("model", unsupported_model_message(model)))
    elif isinstance(model, str) and parsed is not None and parsed.lora is not None:
        if problem := last_layers_problem(model, parsed.lora.last_layers):
            problems.append(("lora.last_layers", problem))

    dataset_source = _dataset_source(raw, "dataset", problems, base_dir)
    eval_source = _dataset_source(raw, "eval_dataset", problems, base_dir)
    if problems:
        raise TrainerConfigError(problems)
    assert parsed is not None
    if eval_source is not None:
        parsed = parsed.model_copy(update={"eval_dataset": eval_source})
    return parsed, dataset_source


def _dataset_source(raw: dict[str, Any], key: str, problems: list[tuple[str, str]], base_dir: Any) -> Any:
    """The parsed source under `key` (None when absent or invalid; problems are appended), a local
    file checked now (exists, a dataset extension)."""
    if raw.get(key) is None:
        return None
    dataset = raw[key]
    if hasattr(dataset, "to_wire"):
        dataset = dataset.to_wire()
    try:
        source = _DATASET_ADAPTER.validate_python(dataset)
    except ValidationError as exc:
        kinds = "huggingface {name, split?, subset?}, blob {url, token?}, file {path}"
        field, message = _describe(exc.errors()[0], prefix=f"{key}.")
        problems.append((field, f"{message}. A dataset is one of: {kinds}"))
        return None
    if isinstance(source, FileDatasetSource):
        problems.extend(local_file_problems(source, base_dir, field=f"{key}.path"))
    return source


def build_job_config(trainer_input: TrainerInput, dataset_source: Any) -> JobConfig:
    """The wire `JobConfig` of a validated input (only set fields are sent)."""
    fields = trainer_input.model_dump(exclude_none=True, exclude={"name", "model", "dataset", "lora", "eval_dataset"})
    if trainer_input.eval_dataset is not None:
        fields["eval_dataset"] = trainer_input.eval_dataset
    lora = trainer_input.lora
    if lora is not None:
        for ours, theirs in (
            ("r", "lora_r"),
            ("alpha", "lora_alpha"),
            ("max_length", "max_length"),
            ("load_in_4bit", "load_in_4bit"),
            ("target_modules", "target_modules"),
            ("dropout", "lora_dropout"),
            ("last_layers", "lora_last_layers"),
        ):
            value = getattr(lora, ours)
            if value is not None:
                fields[theirs] = value
    if "dataset_format" in fields:
        fields["dataset_format"] = {"type": fields["dataset_format"]}
    return JobConfig(model=trainer_input.model, dataset_source=dataset_source, **fields)

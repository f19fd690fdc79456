"""Job events: what a worker reports, what the backend stores and what the event stream carries.

On the SSE stream each frame is `id: <per-job integer>`, `event: <type>` and
`data: <JSON of one of these models>`; the JSON repeats the name in `type`.

This module is the one owner of the event types: each model is registered once with `@job_event`
(or `register_event_type`), saying which job status its event announces. The parser, the worker's
batch, the set of terminal types (`is_terminal`) and the event -> status map (`EVENT_STATUS`, also
served to Studio) are all read from that registry, so adding an event type is one edit here.
"""

from __future__ import annotations

import collections.abc
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar, Union

from pydantic import Field, PlainSerializer, PlainValidator, TypeAdapter, ValidationInfo

from ._base import LENIENT, WireModel
from .status import TERMINAL_STATUSES, JobStatus


class Artifact(WireModel):
    """A file a job produced. `pathname` is relative to the job's artifact root,
    e.g. `final/adapter_model.safetensors` or `checkpoints/step-10/adapter_config.json`."""

    pathname: str
    size: int | None = None
    sha256: str | None = None
    url: str | None = None


class JobEventBase(WireModel):
    """What every event carries; a registered subclass adds `type: Literal["<name>"]` and its fields."""

    type: str
    job_id: str | None = None
    timestamp: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """The event's JSON: `type` first, then its own fields, then `jobId` and `timestamp`."""
        body = super().to_wire()
        head = {"type": body.pop("type", self.type)}
        tail: dict[str, Any] = {key: body.pop(key) for key in ("jobId", "timestamp") if key in body}
        return {**head, **body, **tail}


class GenericEvent(JobEventBase):
    """An event whose type this process does not know (a newer peer's), or a known type whose body did
    not validate when read leniently: every field it came with is kept as an attribute."""


# ---- the registry ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventType:
    """One registered event type: its wire name, its model and the job status it announces (None: none)."""

    name: str
    model: type[JobEventBase]
    status: JobStatus | None = None

    @property
    def terminal(self) -> bool:
        """The job ends with this event (its status is a terminal one)."""
        return self.status in TERMINAL_STATUSES


_registry: dict[str, EventType] = {}
_registry_lock = threading.Lock()
_adapter_cache: tuple[tuple[type[JobEventBase], ...], TypeAdapter[Any]] | None = None

EventModel = TypeVar("EventModel", bound=type[JobEventBase])


def _type_name(model: type[JobEventBase]) -> str:
    field = model.model_fields.get("type")
    name = field.default if field is not None else None
    if not isinstance(name, str) or not name:
        raise TypeError(f'{model.__name__} needs `type: Literal["<name>"] = "<name>"` to be registered as an event')
    return name


def register_event_type(model: EventModel, *, status: JobStatus | None = None) -> EventModel:
    """Make `model` a job event everywhere: parsed by the backend and the SDK, stored, streamed, and
    (with `status`) moving the job to that status; a terminal status makes it a terminal event."""
    name = _type_name(model)
    if status is not None and status not in JobStatus.__args__:  # type: ignore[attr-defined]
        raise ValueError(f"event {name}: status {status!r} is not a job status ({', '.join(JobStatus.__args__)})")  # type: ignore[attr-defined]
    with _registry_lock:
        known = _registry.get(name)
        if known is not None and known.model is not model:
            raise ValueError(f"event type {name} is already registered (by {known.model.__name__})")
        _registry[name] = EventType(name=name, model=model, status=status)
    return model


def job_event(*, status: JobStatus | None = None) -> Callable[[EventModel], EventModel]:
    """Class decorator: `@job_event(status="completed") class TrainingCompleted(JobEventBase): ...`."""
    return lambda model: register_event_type(model, status=status)


def unregister_event_type(name: str) -> None:
    """Forget an event type registered at run time (a plugin unloaded, a test cleaning up)."""
    with _registry_lock:
        _registry.pop(name, None)


def event_types() -> list[EventType]:
    """Every registered event type, in registration order."""
    return list(_registry.values())


def _name_of(event_or_type: JobEventBase | str | dict[str, Any]) -> str | None:
    if isinstance(event_or_type, dict):
        name = event_or_type.get("type")
    elif isinstance(event_or_type, str):
        name = event_or_type
    else:  # an event model, or anything else with a `type`
        name = getattr(event_or_type, "type", None)
    return name if isinstance(name, str) else None


def event_status(event_or_type: JobEventBase | str | dict[str, Any]) -> JobStatus | None:
    """The job status an event (or an event type name) announces; None for most events and unknown types."""
    name = _name_of(event_or_type)
    known = _registry.get(name) if name is not None else None
    return known.status if known is not None else None


def is_terminal(event_or_type: JobEventBase | str | dict[str, Any]) -> bool:
    """The job ends with this event (or event type name): completed, failed or cancelled."""
    return event_status(event_or_type) in TERMINAL_STATUSES


class _TerminalTypes(collections.abc.Set[str]):
    """The registered terminal event types, read live (a type registered later is in it too)."""

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and is_terminal(name)

    def __iter__(self) -> Iterator[str]:
        return iter([kind.name for kind in event_types() if kind.terminal])

    def __len__(self) -> int:
        return sum(1 for kind in event_types() if kind.terminal)

    def __repr__(self) -> str:
        return f"TERMINAL_EVENT_TYPES({sorted(self)})"


class _EventStatus(collections.abc.Mapping[str, str]):
    """Event type -> the job status it announces, for the types that announce one (read live)."""

    def __getitem__(self, name: str) -> str:
        status = event_status(name)
        if status is None:
            raise KeyError(name)
        return status

    def __iter__(self) -> Iterator[str]:
        return iter([kind.name for kind in event_types() if kind.status is not None])

    def __len__(self) -> int:
        return sum(1 for kind in event_types() if kind.status is not None)

    def __repr__(self) -> str:
        return f"EVENT_STATUS({dict(self)})"


TERMINAL_EVENT_TYPES: collections.abc.Set[str] = _TerminalTypes()
EVENT_STATUS: collections.abc.Mapping[str, str] = _EventStatus()


def _adapter() -> TypeAdapter[Any]:
    """The discriminated union of the registered models, rebuilt when the registry changed."""
    global _adapter_cache
    models = tuple(kind.model for kind in event_types())
    cached = _adapter_cache
    if cached is not None and cached[0] == models:
        return cached[1]
    union = models[0] if len(models) == 1 else Union[models]  # type: ignore[valid-type]  # noqa: UP007 - a union of a runtime tuple needs Union[...]
    discriminated: Any = Annotated[union, Field(discriminator="type")]  # a type form built at run time
    adapter: TypeAdapter[Any] = TypeAdapter(discriminated)
    _adapter_cache = (models, adapter)
    return adapter


def parse_event(data: Any, *, lenient: bool = False) -> JobEventBase:
    """Validate one event payload into its registered model.

    Strict (the backend reading a worker): an unknown type or a bad field raises pydantic.ValidationError.
    Lenient (a client reading a backend it did not write): a type this process does not know, or a body
    that does not validate even leniently, becomes a `GenericEvent` keeping every field; never raises
    for a JSON object.
    """
    if isinstance(data, JobEventBase):
        data = data.to_wire()
    if not lenient:
        return _adapter().validate_python(data)
    from pydantic import ValidationError

    from ._base import LENIENT_READ

    type_name = data.get("type") if isinstance(data, dict) else None
    known = _registry.get(type_name) if isinstance(type_name, str) else None
    if known is not None:
        try:
            return known.model.model_validate(data, context=LENIENT_READ)
        except ValidationError:
            pass
    return GenericEvent.model_construct(**(data if isinstance(data, dict) else {"type": str(data)}))


def _validate_event(value: Any, info: ValidationInfo) -> JobEventBase:
    if isinstance(value, JobEventBase) and type(value) in {kind.model for kind in event_types()}:
        return value
    return parse_event(value, lenient=bool((info.context or {}).get(LENIENT)))


# A field holding any registered event (`WorkerEventBatch.events`): it follows the registry at run time.
AnyJobEvent = Annotated[
    JobEventBase,
    PlainValidator(_validate_event, json_schema_input_type=dict[str, Any]),
    PlainSerializer(lambda event: event.to_wire(), return_type=dict[str, Any]),
]


# ---- the built-in event types --------------------------------------------------------------------


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


@job_event(status="running")
class TrainingStarted(JobEventBase):
    type: Literal["training.started"] = "training.started"
    metadata: TrainingStartedMetadata | None = None


@job_event()
class TrainingLog(JobEventBase):
    type: Literal["training.log"] = "training.log"
    step: int
    loss: float | None = None
    eval_loss: float | None = None
    learning_rate: float | None = None
    epoch: float | None = None
    samples_per_second: float | None = None
    tokens_per_second: float | None = None


@job_event()
class EvaluationCompleted(JobEventBase):
    """Task accuracy at one eval step: `rows` rows of the trainer's `eval_dataset` decoded greedily
    and scored by `scorer`. `accuracy` is the share of rows with every field exact; `fields` the
    share per field. All values 0..1."""

    type: Literal["evaluation.completed"] = "evaluation.completed"
    step: int = Field(ge=0)
    scorer: str
    accuracy: float = Field(ge=0, le=1)
    fields: dict[str, Annotated[float, Field(ge=0, le=1)]] = {}
    rows: int = Field(ge=0)


@job_event()
class CheckpointSaved(JobEventBase):
    type: Literal["checkpoint.saved"] = "checkpoint.saved"
    step: int
    artifacts: list[Artifact] = []


@job_event(status="completed")
class TrainingCompleted(JobEventBase):
    type: Literal["training.completed"] = "training.completed"
    metrics: dict[str, Any] = {}
    artifacts: list[Artifact] = []


@job_event(status="failed")
class TrainingFailed(JobEventBase):
    type: Literal["training.failed"] = "training.failed"
    error: str
    step: int | None = None


@job_event(status="cancelled")
class TrainingCancelled(JobEventBase):
    """Our extension: a job that was cancelled ends with this event."""

    type: Literal["training.cancelled"] = "training.cancelled"
    step: int | None = None
    reason: str | None = None


@job_event()
class TrainingResumed(JobEventBase):
    """The job lost its worker (or backend, or Ray node) and goes on from the checkpoint at `step`
    (0: from the start) as the same job; `restarts` counts the automatic resumes so far."""

    type: Literal["training.resumed"] = "training.resumed"
    step: int = 0
    reason: str
    restarts: int = 0


# The static union of the built-in types (documentation and type checking; parsing follows the registry).
JobEvent = Annotated[
    TrainingStarted
    | TrainingLog
    | EvaluationCompleted
    | CheckpointSaved
    | TrainingCompleted
    | TrainingFailed
    | TrainingCancelled
    | TrainingResumed,
    Field(discriminator="type"),
]

"""The I/O-free heart of `Trainer.wait()`: reconnect policy, SSE decoding, event folding, dispatch.

`wait_flow` is a generator that yields commands (`Open`, `Read`, `Sleep`, `Call`) and receives
their results (or has their exceptions thrown in). The sync and async trainers each drive it with
their own transport and sleep, so the semantics (reference 1.3/1.4/8) are written once:

- each frame's `id` becomes `last_event_id` (pings too); `ping` frames and unparseable data are not
  progress; `end` is terminal; dispatch keys off the JSON `type`; unknown types are skipped;
- a parseable frame resets the consecutive-failure count;
- open errors 401/403/410/426 are permanent; anything else (404, 5xx, network) is a failure;
- a clean EOF after progress reconnects after the base delay without counting; an EOF without
  progress is a failure;
- a failure sleeps min(base*2^attempt, max) +-25% jitter clamped to [0, max]; with
  `max_reconnect_attempts=N` the (N+1)-th consecutive failure gives up;
- a callback's exception propagates at once (never retried: the cursor already advanced), with a
  note that the job keeps running on the backend unless its event was terminal; giving up on the
  stream says so too (`keeps_running_note`).
"""

from __future__ import annotations

import json
import random as _random
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from arkor.protocol import (
    TERMINAL_STATUSES,
    Artifact,
    JobEventBase,
    TrainingJob,
    event_status,
    is_terminal,
    parse_event,
)
from arkor.protocol.sse import SSEDecoder

from .contexts import (
    CompletedContext,
    EvaluationContext,
    EventContext,
    FailedContext,
    LogContext,
    StartedContext,
    TrainingResult,
)
from .errors import CloudApiError, TrainerStreamError

PERMANENT_STATUSES = frozenset({401, 403, 410, 426})
CALLBACK_OF_EVENT = {
    "training.started": "on_started",
    "training.log": "on_log",
    "checkpoint.saved": "on_checkpoint",
    "training.completed": "on_completed",
    "training.failed": "on_failed",
}


def keeps_running_note(job_id: str) -> str:
    """What a user must know when wait() stops while the job goes on (worded as for Ctrl-C in `arkor start`)."""
    return (
        f"Job {job_id} keeps running on the backend; cancel it with `trainer.cancel()` or `arkor jobs cancel {job_id}`."
    )


def add_note_once(exc: BaseException, note: str) -> None:
    if note not in getattr(exc, "__notes__", ()):
        exc.add_note(note)


@dataclass
class Open:
    last_event_id: str | None


@dataclass
class Read:
    """Next text chunk of the open stream; None at EOF."""


@dataclass
class Sleep:
    seconds: float


@dataclass
class Call:
    callback: Callable[[Any], Any]
    context: Any


@dataclass
class ReconnectPolicy:
    reconnect_delay_ms: float = 1000.0
    max_reconnect_delay_ms: float = 60000.0
    max_reconnect_attempts: int | None = None
    random: Callable[[], float] = _random.random

    def backoff_ms(self, attempt: int) -> float:
        exponential = min(self.reconnect_delay_ms * (2**attempt), self.max_reconnect_delay_ms)
        jitter = exponential * (self.random() * 0.5 - 0.25)
        # Jitter sits outside the exponential clamp, so clamp again (reference 8.4).
        return min(max(exponential + jitter, 0.0), self.max_reconnect_delay_ms)


class StreamClosedEmpty(Exception):
    """EOF before any parseable frame (counts as a failure: guards against broken proxies)."""

    def __init__(self) -> None:
        super().__init__("SSE stream closed without emitting any frame")


def _num(value: Any) -> Any:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _artifacts(raw: Any) -> list[Artifact | dict[str, Any]]:
    out: list[Artifact | dict[str, Any]] = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, Artifact):
            out.append(item)
            continue
        try:
            out.append(Artifact.model_validate(item))
        except Exception:  # noqa: BLE001 - keep what the backend sent, as the original does
            out.append(item)
    return out


@dataclass
class WaitState:
    job: TrainingJob
    last_event_id: str | None = None
    artifacts: list[Any] = field(default_factory=list)
    attempt: int = 0


# One fold per event type that has an SDK callback: (state, event, callbacks, make_checkpoint_ctx) ->
# (callback or None, its context). The job status an event announces, and whether it ends the wait,
# come from `arkor.protocol` (`event_status`, `is_terminal`), so a type with no entry here still does both.
Fold = Callable[[WaitState, JobEventBase, Any, Callable[..., Any]], tuple[Callable[[Any], Any] | None, Any]]


def _fold_started(state: WaitState, event: JobEventBase, callbacks: Any, _ckpt: Callable[..., Any]) -> tuple[Any, Any]:
    return callbacks.on_started, StartedContext(job=state.job)


def _fold_log(state: WaitState, event: JobEventBase, callbacks: Any, _ckpt: Callable[..., Any]) -> tuple[Any, Any]:
    value = lambda name: _num(getattr(event, name, None))  # noqa: E731
    return callbacks.on_log, LogContext(
        step=value("step"),
        loss=value("loss"),
        eval_loss=value("eval_loss"),
        learning_rate=value("learning_rate"),
        epoch=value("epoch"),
        samples_per_second=value("samples_per_second"),
        tokens_per_second=value("tokens_per_second"),
        job=state.job,
    )


def _fold_evaluation(
    state: WaitState, event: JobEventBase, callbacks: Any, _ckpt: Callable[..., Any]
) -> tuple[Any, Any]:
    raw_fields = getattr(event, "fields", None)
    raw_fields = raw_fields if isinstance(raw_fields, dict) else {}
    scores = {str(k): float(v) for k, v in raw_fields.items() if _num(v) is not None}
    scorer = getattr(event, "scorer", None)
    return callbacks.on_evaluation, EvaluationContext(
        step=_num(getattr(event, "step", None)),
        accuracy=_num(getattr(event, "accuracy", None)),
        fields=scores,
        scorer=scorer if isinstance(scorer, str) else None,
        rows=_num(getattr(event, "rows", None)),
        job=state.job,
    )


def _fold_checkpoint(
    state: WaitState, event: JobEventBase, callbacks: Any, make_checkpoint_ctx: Callable[..., Any]
) -> tuple[Any, Any]:
    step = _num(getattr(event, "step", None))
    return callbacks.on_checkpoint, make_checkpoint_ctx(step, state.job, _artifacts(getattr(event, "artifacts", None)))


def _fold_completed(
    state: WaitState, event: JobEventBase, callbacks: Any, _ckpt: Callable[..., Any]
) -> tuple[Any, Any]:
    state.artifacts = _artifacts(getattr(event, "artifacts", None))
    metrics = getattr(event, "metrics", None)
    return callbacks.on_completed, CompletedContext(
        job=state.job, artifacts=state.artifacts, metrics=metrics if isinstance(metrics, dict) else {}
    )


def _fold_failed(state: WaitState, event: JobEventBase, callbacks: Any, _ckpt: Callable[..., Any]) -> tuple[Any, Any]:
    return callbacks.on_failed, FailedContext(job=state.job, error=state.job.error or "")


FOLDS: dict[str, Fold] = {
    "training.started": _fold_started,
    "training.log": _fold_log,
    "evaluation.completed": _fold_evaluation,
    "checkpoint.saved": _fold_checkpoint,
    "training.completed": _fold_completed,
    "training.failed": _fold_failed,
}


def _apply_status(state: WaitState, event: JobEventBase) -> None:
    """Move the local job snapshot to the status the event announces (protocol's map)."""
    status = event_status(event)
    if status is None:
        return
    stamp = event.timestamp
    update: dict[str, Any] = {"status": status}
    if status == "running":
        update["started_at"] = stamp
    elif status in TERMINAL_STATUSES:
        update["completed_at"] = stamp
    if status == "failed":
        update["error"] = str(getattr(event, "error", None) or "")
    state.job = state.job.model_copy(update=update)


def fold_event(
    state: WaitState, data: JobEventBase | dict[str, Any], callbacks: Any, make_checkpoint_ctx: Callable[..., Any]
) -> tuple[Callable[[Any], Any] | None, Any, bool]:
    """Apply one event to the job snapshot; return (callback or None, its context, terminal?).

    Dispatch goes through `FOLDS` by type; a type without a fold (a newer backend's, or one added to
    protocol without an SDK callback) updates the status protocol gives it and fires nothing."""
    event = data if isinstance(data, JobEventBase) else parse_event(data, lenient=True)
    _apply_status(state, event)
    fold = FOLDS.get(event.type) if isinstance(event.type, str) else None
    callback, ctx = fold(state, event, callbacks, make_checkpoint_ctx) if fold is not None else (None, None)
    return callback, ctx, is_terminal(event)


def wait_flow(
    state: WaitState,
    policy: ReconnectPolicy,
    callbacks: Any,
    make_checkpoint_ctx: Callable[..., Any],
    is_aborted: Callable[[], BaseException | None],
    on_event: Callable[[JobEventBase], Any] | None = None,
) -> Generator[Any, Any, TrainingResult]:
    """Drive one `wait()`; see the module docstring for the rules. `on_event` sees every parsed
    event (a typed model; a `GenericEvent` for unknown types) before the snapshot is updated
    (`arkor jobs logs -f` prints them); the `on_event` callback sees it after, with the snapshot."""
    while True:
        reason = is_aborted()
        if reason is not None:
            raise reason
        failure: BaseException | None = None
        progressed = False
        try:
            yield Open(state.last_event_id)
        except CloudApiError as exc:
            if exc.status in PERMANENT_STATUSES:
                raise
            failure = exc
        except Exception as exc:  # noqa: BLE001 - network errors are transient
            failure = exc
        if failure is None:
            decoder = SSEDecoder()
            while True:
                try:
                    chunk = yield Read()
                except Exception as exc:  # noqa: BLE001 - a broken body mid-read
                    failure = exc
                    break
                frames = list(decoder.feed(chunk)) if chunk is not None else list(decoder.flush())
                for frame in frames:
                    if frame.id is not None:
                        state.last_event_id = frame.id
                    if frame.event == "ping":
                        continue
                    if frame.event == "end":
                        return TrainingResult(job=state.job, artifacts=state.artifacts)
                    try:
                        data = json.loads(frame.data)
                    except ValueError:
                        continue
                    if not isinstance(data, dict):
                        continue
                    state.attempt = 0
                    progressed = True
                    event = parse_event(data, lenient=True)
                    if on_event is not None:
                        yield Call(on_event, event)
                    callback, ctx, terminal = fold_event(state, event, callbacks, make_checkpoint_ctx)
                    calls: list[tuple[str, Callable[[Any], Any], Any]] = []
                    if getattr(callbacks, "on_event", None) is not None:
                        calls.append(("on_event", callbacks.on_event, EventContext(event=event, job=state.job)))
                    if callback is not None:
                        calls.append((CALLBACK_OF_EVENT.get(event.type, "callback"), callback, ctx))
                    for name, function, context in calls:
                        try:
                            yield Call(function, context)  # its exception propagates: never retried
                        except Exception as exc:
                            if not terminal:
                                add_note_once(
                                    exc,
                                    f"{name} raised, so wait() stopped following the job. "
                                    + keeps_running_note(state.job.id),
                                )
                            raise
                    if terminal:
                        return TrainingResult(job=state.job, artifacts=state.artifacts)
                if chunk is None:
                    break
            if failure is None:
                if progressed:
                    yield Sleep(policy.reconnect_delay_ms / 1000.0)
                    continue
                failure = StreamClosedEmpty()
        reason = is_aborted()
        if reason is not None:
            raise reason from failure
        limit = policy.max_reconnect_attempts
        if limit is not None and state.attempt >= limit:
            error = TrainerStreamError(f"Trainer SSE stream failed {state.attempt + 1} consecutive times; giving up.")
            add_note_once(error, keeps_running_note(state.job.id))
            raise error from failure
        yield Sleep(policy.backoff_ms(state.attempt) / 1000.0)
        state.attempt += 1

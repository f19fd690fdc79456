"""`TrackingReporter`: the worker's reporter, also feeding each event to the job's trackers.

Tracker failures after opening are logged and never fail the training run (the run's own record is
`events.jsonl`); a tracker that fails once is not called again.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from arkor.protocol import JobConfig, JobEventBase, event_status, is_terminal
from arkor.protocol.artifacts import ArtifactLayout

from ..reporting import FolderReporter
from .base import Tracker, open_trackers
from .to_tensorboard import FOLDER as TENSORBOARD_FOLDER

log = logging.getLogger(__name__)

# training.log field (wire name) -> metric name
LOG_METRICS = {
    "loss": "train/loss",
    "learningRate": "train/learning_rate",
    "epoch": "train/epoch",
    "samplesPerSecond": "train/samples_per_second",
    "tokensPerSecond": "train/tokens_per_second",
    "evalLoss": "eval/loss",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9_\-. /]")


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def metrics_of(payload: dict[str, Any]) -> tuple[dict[str, float], int | None]:
    """(metrics, step) a tracker logs for one wire event; no metrics for other event types."""
    kind = payload.get("type")
    if kind == "training.log":
        values = {name: _number(payload.get(key)) for key, name in LOG_METRICS.items()}
        return {k: v for k, v in values.items() if v is not None}, payload.get("step")
    if kind == "evaluation.completed":
        nested = payload.get("data")
        data = nested if isinstance(nested, dict) else payload
        metrics: dict[str, float] = {}
        if (accuracy := _number(data.get("accuracy"))) is not None:
            metrics["eval/accuracy"] = accuracy
        fields = data.get("fields")
        items = (
            fields.items()
            if isinstance(fields, dict)
            else (
                ((f.get("name") or f.get("field"), f) for f in fields if isinstance(f, dict))
                if isinstance(fields, list)
                else ()
            )
        )
        for field, value in items:
            score = _number(value.get("accuracy")) if isinstance(value, dict) else _number(value)
            if field and score is not None:
                metrics[f"eval/accuracy/{_UNSAFE.sub('_', str(field))}"] = score
        return metrics, data.get("step")
    return {}, None


class TrackingReporter:
    """Delegates everything to `inner`; `emit` also reports to the trackers first."""

    def __init__(self, inner: FolderReporter, trackers: list[Tracker]) -> None:
        self._inner = inner
        self._trackers = list(trackers)
        self._last_step = 0
        self._finished = False

    def __getattr__(self, name: str) -> Any:  # job_id, output_dir, events, publish_files, heartbeat ...
        return getattr(self._inner, name)

    def _each(self, action: str, *args: Any) -> None:
        for tracker in list(self._trackers):
            try:
                getattr(tracker, action)(*args)
            except Exception as exc:  # a tracker is a side channel: the run goes on without it
                log.warning(
                    "%s tracker failed in %s (%s: %s); not reporting to it any more",
                    tracker.name,
                    action,
                    type(exc).__name__,
                    exc,
                )
                self._trackers.remove(tracker)

    def emit(self, event: JobEventBase) -> dict[str, Any]:
        metrics, step = metrics_of(event.to_wire())
        if isinstance(step, int):
            self._last_step = step
        if metrics:
            self._each("log_metrics", metrics, step if isinstance(step, int) else self._last_step)
        if is_terminal(event):
            event = self._finish(event, str(event_status(event)))
        return self._inner.emit(event)

    def _finish(self, event: JobEventBase, status: str) -> JobEventBase:
        if status == "completed":
            final = ArtifactLayout(self.output_dir).final
            if final.is_dir():
                self._each("log_adapter", final)
        self._close(status)
        folder = self.output_dir / TENSORBOARD_FOLDER
        if folder.is_dir():
            # TensorBoard's curves travel with the job's artifacts, so a remote run opens locally too.
            published = self._inner.publish_files(folder)
            if hasattr(event, "artifacts"):
                event = event.model_copy(update={"artifacts": [*event.artifacts, *published]})
        return event

    def _close(self, status: str) -> None:
        if not self._finished:
            self._finished = True
            self._each("finish", status)

    def close(self) -> None:
        self._close("cancelled")  # reached without a terminal event only when the run was stopped
        self._inner.close()


def with_trackers(reporter: FolderReporter, config: JobConfig, output_dir: Path) -> FolderReporter | TrackingReporter:
    """`reporter` itself when the job reports to no tracker, else a `TrackingReporter` around it.

    Raises TrackerConfigError when a tracker's package is not installed."""
    if not config.report_to:
        return reporter
    return TrackingReporter(reporter, open_trackers(config, reporter.job_id, output_dir))

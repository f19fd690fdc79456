"""Experiment trackers a job reports to (`report_to=["tensorboard", "mlflow", "wandb"]`).

Each tracker is an optional extra of the same name (`pip install 'arkor[mlflow]'`), imported only
when a job asks for it. `TrackingReporter` wraps the worker's reporter: every event the training
loop emits is also handed to the trackers (`training.log` metrics, `evaluation.completed`
accuracy), the job config is logged as hyperparameters when they open, and on the terminal event
the final adapter is logged as an artifact and the TensorBoard event files are published as job
artifacts under `tensorboard/`.
"""

from __future__ import annotations

from .base import Tracker, TrackerConfigError, check_trackers_installed, open_trackers
from .reporter import TrackingReporter, with_trackers

__all__ = [
    "Tracker",
    "TrackerConfigError",
    "TrackingReporter",
    "check_trackers_installed",
    "open_trackers",
    "with_trackers",
]

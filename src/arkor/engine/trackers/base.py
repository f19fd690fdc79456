"""What every tracker does, which package each needs, and opening the ones a job asks for."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any, Protocol

from arkor.errors import ConfigError
from arkor.protocol import JobConfig

log = logging.getLogger(__name__)

# tracker -> (modules any one of which is enough, the extra that installs one)
REQUIREMENTS: dict[str, tuple[tuple[str, ...], str]] = {
    "tensorboard": (("tensorboard", "tensorboardX"), "tensorboard"),
    "mlflow": (("mlflow",), "mlflow"),
    "wandb": (("wandb",), "wandb"),
}


class TrackerConfigError(ConfigError):
    """A tracker was asked for whose package is not installed."""


class Tracker(Protocol):
    name: str

    def log_metrics(self, metrics: dict[str, float], step: int) -> None: ...

    def log_adapter(self, folder: Path) -> None: ...

    def finish(self, status: str) -> None:
        """`status` is "completed", "failed" or "cancelled"."""


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def check_trackers_installed(names: list[str] | None) -> None:
    """Raise TrackerConfigError for the first tracker in `names` whose package is missing."""
    for name in names or []:
        modules, extra = REQUIREMENTS[name]
        if not any(_installed(module) for module in modules):
            raise TrackerConfigError(
                f"report_to: {name!r} needs the {modules[0]} package: pip install 'arkor[{extra}]'",
                field="report_to",
            )


def hyperparameters(config: JobConfig) -> dict[str, Any]:
    """The job config flattened to `key` / `parent.key` scalars (lists joined), as trackers want them."""
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else key, inner)
        elif isinstance(value, list):
            flat[prefix] = ",".join(str(item) for item in value)
        else:
            flat[prefix] = value

    wire = config.to_wire()
    wire.get("datasetSource", {}).pop("token", None)  # a blob token is a credential, never a hyperparameter
    walk("", wire)
    return flat


def open_trackers(config: JobConfig, job_id: str, output_dir: Path) -> list[Tracker]:
    """Open every tracker in `config.report_to` (none by default), each logging the config first."""
    names = config.report_to or []
    check_trackers_installed(names)
    params = hyperparameters(config)
    opened: list[Tracker] = []
    try:
        for name in names:
            if name == "tensorboard":
                from .to_tensorboard import TensorBoardTracker as kind
            elif name == "mlflow":
                from .to_mlflow import MlflowTracker as kind  # type: ignore[assignment]
            else:
                from .to_wandb import WandbTracker as kind  # type: ignore[assignment]
            try:
                opened.append(kind(job_id=job_id, output_dir=output_dir, params=params))
            except Exception as exc:
                raise ConfigError(
                    f"report_to: could not start the {name} run: {type(exc).__name__}: {exc}", field="report_to"
                ) from exc
    except Exception:
        for tracker in opened:
            tracker.finish("failed")
        raise
    return opened

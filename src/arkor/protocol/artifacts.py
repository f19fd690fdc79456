"""`ArtifactLayout`: where a training run's files live, named once for the engine, the server and the CLI.

A worker writes under its output folder; the backend stores each file under the job with the same
relative pathname (`final/adapter_model.safetensors`, `checkpoints/step-10/adapter_config.json`).
So one layout describes both: `ArtifactLayout(Path(output_dir))` for a folder on disk, and
`ARTIFACT_PATHS` (rooted at the empty relative path) for artifact pathnames. Standard library only,
so every layer can import it.

One checkpoint (`checkpoints/step-<N>/`) is a plain PEFT adapter folder plus `trainer_state/` (what a
resumed run needs; PEFT never reads it) whose `COMPLETE` marker is written last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath, PurePosixPath
from typing import Generic, TypeVar

FINAL_DIR = "final"
CHECKPOINTS_DIR = "checkpoints"
CHECKPOINT_PREFIX = "step-"
PARTIAL_CHECKPOINT_PREFIX = ".partial-"
"""A checkpoint being written (renamed into place when complete; leftovers are deleted)."""

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
ADAPTER_WEIGHT_FILES = (ADAPTER_WEIGHTS, "adapter_model.bin")
"""The weights files a PEFT adapter folder may hold, preferred first."""
CHECKPOINT_INFO = "arkor-checkpoint.json"
"""Beside the adapter: its step, the arkor version and the job's config."""
MODEL_CARD = "README.md"

STATE_DIR = "trainer_state"
STATE_FILE = "state.pt"
LOOP_FILE = "loop.json"
RESUME_MARKER = "COMPLETE"

EVENTS_FILE = "events.jsonl"
METRICS_FILE = "metrics.json"

_CHECKPOINT_NAME = re.compile(re.escape(CHECKPOINT_PREFIX) + r"([0-9]+)")

P = TypeVar("P", bound=PurePath)


def checkpoint_name(step: int) -> str:
    """The folder name of the checkpoint of `step` (`step-10`)."""
    return f"{CHECKPOINT_PREFIX}{step}"


def checkpoint_step(name: str) -> int | None:
    """The step a checkpoint folder name stands for (`step-10` -> 10); None for any other name."""
    match = _CHECKPOINT_NAME.fullmatch(name)
    return int(match.group(1)) if match else None


def adapter_label(step: int | None) -> str:
    """A short name of the final adapter (`final`) or of checkpoint `step` (`step-10`)."""
    return FINAL_DIR if step is None else checkpoint_name(step)


@dataclass(frozen=True)
class ArtifactLayout(Generic[P]):
    """The files of one run under `root` (a `Path` on disk, or a relative `PurePosixPath` of pathnames).

    `step=None` means the final adapter wherever an adapter is meant.
    """

    root: P

    @property
    def final(self) -> P:
        return self.root / FINAL_DIR

    @property
    def checkpoints(self) -> P:
        return self.root / CHECKPOINTS_DIR

    @property
    def events(self) -> P:
        return self.root / EVENTS_FILE

    @property
    def metrics(self) -> P:
        return self.root / METRICS_FILE

    def checkpoint(self, step: int) -> P:
        return self.checkpoints / checkpoint_name(step)

    def adapter(self, step: int | None = None) -> P:
        """The adapter folder: the final one, or checkpoint `step`'s."""
        return self.final if step is None else self.checkpoint(step)

    def adapter_config(self, step: int | None = None) -> P:
        return self.adapter(step) / ADAPTER_CONFIG

    def adapter_weights(self, step: int | None = None) -> P:
        return self.adapter(step) / ADAPTER_WEIGHTS

    def resume_state(self, step: int) -> P:
        """The checkpoint's `trainer_state/` folder (optimizer, scheduler, RNG and loop state)."""
        return self.checkpoint(step) / STATE_DIR

    def resume_marker(self, step: int) -> P:
        """Written last: a checkpoint is resumable once this names every file with its size."""
        return self.resume_state(step) / RESUME_MARKER


ARTIFACT_PATHS: ArtifactLayout[PurePosixPath] = ArtifactLayout(PurePosixPath())
"""The layout as artifact pathnames, relative to the job (`str(ARTIFACT_PATHS.final)` == "final")."""


def adapter_prefix(step: int | None = None) -> str:
    """The artifact pathname prefix of an adapter's files, with its trailing slash (`final/`)."""
    return f"{ARTIFACT_PATHS.adapter(step)}/"


def is_resume_marker(pathname: str) -> bool:
    """Whether an artifact pathname is a checkpoint's resume marker (`checkpoints/step-N/trainer_state/COMPLETE`)."""
    parts = PurePosixPath(pathname).parts
    return (
        len(parts) == 4
        and parts[0] == CHECKPOINTS_DIR
        and checkpoint_step(parts[1]) is not None
        and parts[2:] == (STATE_DIR, RESUME_MARKER)
    )

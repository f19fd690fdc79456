"""Resumable checkpoints: what a run needs to go on after its worker died, saved atomically.

Layout of one checkpoint (`<output_dir>/checkpoints/step-<N>/`):
- the PEFT adapter files (`adapter_config.json`, `adapter_model.safetensors`, `arkor-checkpoint.json`),
  a plain PEFT folder that `PeftModel.from_pretrained` loads as before;
- `trainer_state/` beside them (PEFT never reads it): `state.pt` (optimizer, scheduler, RNG states),
  `loop.json` (step, data position, the logging window) and `COMPLETE`, written last, naming every
  file with its size.

A checkpoint is written into a hidden temp folder, every file fsynced, the marker last, then the folder
is renamed into place and the parent fsynced. A crash at any moment leaves either no `step-<N>` or a
complete one; `find_resumable` only ever returns folders whose marker matches their files, so nothing
half-written is loaded. `save_total_limit` bounds disk use by deleting all but the newest checkpoints.
"""

from __future__ import annotations

import errno
import json
import os
import random
import re
import shutil
import sys
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from arkor._durable import fsync_dir
from arkor.errors import ArkorError
from arkor.protocol.artifacts import (
    ADAPTER_WEIGHTS,
    LOOP_FILE,
    PARTIAL_CHECKPOINT_PREFIX,
    RESUME_MARKER,
    STATE_DIR,
    STATE_FILE,
    ArtifactLayout,
    checkpoint_step,
)

_FORMAT = 1


class CheckpointWriteError(ArkorError):
    """A checkpoint could not be written (full disk, failing device); the previous one is intact."""


@dataclass
class LoopState:
    """Where the optimizer loop is, and what its logging window holds, after `step` steps."""

    step: int = 0
    micro_batches: int = 0
    """Micro-batches consumed so far: the data order position (the order is a pure function of seed and epoch)."""
    epoch: int = 0
    batch_index: int = 0
    """Position inside `epoch` (the next batch to read), with `micro_batches` for a quick skip."""
    window_losses: list[float] = field(default_factory=list)
    window_samples: int = 0
    window_tokens: int = 0
    run_samples: int = 0
    run_tokens: int = 0
    last_loss: float | None = None
    last_eval: float | None = None


def checkpoint_dir(output_dir: Path, step: int) -> Path:
    return ArtifactLayout(Path(output_dir)).checkpoint(step)


def _checkpoint_folders(output_dir: Path) -> list[tuple[int, Path]]:
    """(step, folder) of every `step-<N>` folder under the run's checkpoints."""
    root = ArtifactLayout(Path(output_dir)).checkpoints
    found = []
    for folder in root.iterdir() if root.is_dir() else ():
        step = checkpoint_step(folder.name)
        if step is not None:
            found.append((step, folder))
    return found


def is_resumable(folder: Path) -> bool:
    """True when `folder` holds a complete resumable checkpoint (its marker matches its files)."""
    marker = folder / STATE_DIR / RESUME_MARKER
    try:
        manifest = json.loads(marker.read_text())
        files = manifest["files"]
        return all((folder / name).stat().st_size == size for name, size in files.items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def find_resumable(output_dir: Path, *, at_most: int | None = None) -> tuple[int, Path] | None:
    """The newest complete checkpoint (step, folder) with step <= `at_most`; None when there is none."""
    candidates = [
        (step, folder) for step, folder in _checkpoint_folders(output_dir) if at_most is None or step <= at_most
    ]
    for step, folder in sorted(candidates, reverse=True):
        if is_resumable(folder):
            return step, folder
    return None


def _rng_states() -> dict[str, Any]:
    import torch

    states: dict[str, Any] = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    numpy = sys.modules.get("numpy")  # only when something in the run uses it
    if numpy is not None:
        kind, keys, pos, has_gauss, cached = numpy.random.get_state()
        states["numpy"] = (kind, torch.from_numpy(keys.copy()), pos, has_gauss, cached)
    return states


def _set_rng_states(states: dict[str, Any]) -> None:
    import torch

    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    if "numpy" in states:
        import numpy

        kind, keys, pos, has_gauss, cached = states["numpy"]
        numpy.random.set_state((kind, keys.numpy(), pos, has_gauss, cached))


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def estimated_checkpoint_mb(model: Any) -> float:
    """About what one checkpoint takes: the trainable weights plus two Adam moments for each."""
    trainable = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    return round(3 * trainable / 1e6 + 0.05, 1)


def as_disk_fault(exc: BaseException) -> OSError | None:
    """`exc` as the OSError it is, when it is a write failure: safetensors reports a full disk as its
    own error type with the OS message inside ("No space left on device (os error 28)")."""
    if isinstance(exc, OSError):
        return exc
    text = str(exc)
    match = re.search(r"os error (\d+)", text)
    if match is None:
        return None
    code = int(match.group(1))
    return OSError(code, os.strerror(code))


def disk_fault_message(what: str, where: Path, exc: OSError, *, needed_mb: float | None, hint: str) -> str:
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        free = f"Free at least {needed_mb:g} MB there" if needed_mb else "Free space there"
        return f"{what} failed: the disk holding {where} is full ({reason}). {free}, {hint}."
    return f"{what} failed: could not write {where} ({reason}). Check that disk, {hint}."


def save_checkpoint(
    *,
    model: Any,
    optimizer: Any,
    scheduler: Any,
    plan: Any,
    config: Any,
    output_dir: Path,
    loop: LoopState,
    keep: int,
    job_id: str | None = None,
) -> Path:
    """Write the resumable checkpoint of `loop.step` atomically; keep the newest `keep`. Returns its folder."""
    import torch

    from .setup import save_adapter

    final = checkpoint_dir(output_dir, loop.step)
    partial = final.parent / f"{PARTIAL_CHECKPOINT_PREFIX}{final.name}-{uuid.uuid4().hex[:8]}"
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        save_adapter(model, plan, partial, step=loop.step, config=config, job_id=job_id)
        state_dir = partial / STATE_DIR
        state_dir.mkdir()
        torch.save(
            {
                "format": _FORMAT,
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": _rng_states(),
            },
            state_dir / STATE_FILE,
        )
        (state_dir / LOOP_FILE).write_text(json.dumps(asdict(loop)))
        files = sorted(p for p in partial.rglob("*") if p.is_file())
        for path in files:
            _fsync_file(path)
        manifest = {
            "format": _FORMAT,
            "step": loop.step,
            "files": {p.relative_to(partial).as_posix(): p.stat().st_size for p in files},
        }
        marker = state_dir / RESUME_MARKER
        marker.write_text(json.dumps(manifest))
        _fsync_file(marker)
        fsync_dir(state_dir)
        fsync_dir(partial)
        if final.exists():  # left by a run that saved this step and died before saying so
            shutil.rmtree(final)
        os.rename(partial, final)
        fsync_dir(final.parent)
    except Exception as exc:
        shutil.rmtree(partial, ignore_errors=True)
        fault = as_disk_fault(exc)
        if fault is None:
            raise
        raise CheckpointWriteError(
            disk_fault_message(
                f"Saving the checkpoint of step {loop.step}",
                final.parent,
                fault,
                needed_mb=estimated_checkpoint_mb(model),
                hint="lower saveTotalLimit or raise saveSteps, then resume the job with `arkor jobs resume JOB`",
            )
        ) from None
    prune(output_dir, keep=keep)
    return final


def prune(output_dir: Path, *, keep: int) -> list[int]:
    """Delete all but the newest `keep` checkpoints (and any temp folder a crash left); returns the steps deleted."""
    root = ArtifactLayout(Path(output_dir)).checkpoints
    if not root.is_dir():
        return []
    for leftover in root.glob(f"{PARTIAL_CHECKPOINT_PREFIX}*"):
        shutil.rmtree(leftover, ignore_errors=True)
    steps = _checkpoint_folders(output_dir)
    steps.sort(reverse=True)
    deleted = []
    for step, folder in steps[max(keep, 1) :]:
        shutil.rmtree(folder, ignore_errors=True)
        deleted.append(step)
    return deleted


def restore(folder: Path, *, model: Any, optimizer: Any, scheduler: Any) -> LoopState:
    """Load a checkpoint from `find_resumable` into the fresh model/optimizer/scheduler; returns the loop state.

    RNG states are set last, so what the caller does next draws the same numbers the interrupted run did.
    """
    import torch
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    weights = load_file(str(folder / ADAPTER_WEIGHTS))
    set_peft_model_state_dict(model, weights)
    state = torch.load(folder / STATE_DIR / STATE_FILE, map_location="cpu", weights_only=True)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    loop = LoopState(**json.loads((folder / STATE_DIR / LOOP_FILE).read_text()))
    _set_rng_states(state["rng"])
    return loop


def keep_limit(config: Any) -> int:
    from arkor.protocol import DEFAULT_SAVE_TOTAL_LIMIT

    return config.save_total_limit or DEFAULT_SAVE_TOTAL_LIMIT

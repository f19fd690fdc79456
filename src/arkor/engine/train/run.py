"""One training job from start to its terminal event.

Phases: resolve the plan, load the tokenizer, prepare (validate + tokenize) the dataset, load the
base model and wrap it with LoRA, run the optimizer loop (logging, eval, checkpoints), save the
final adapter. Every failure becomes one `training.failed` event with a message a user can act on;
a stop request ends the run at the next step boundary with `StopRequested`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from arkor.errors import ArkorError, ConfigError, DatasetValidationError, ModelNotAvailableError
from arkor.protocol import (
    CheckpointSaved,
    DatasetAccess,
    JobConfig,
    TrainingCompleted,
    TrainingFailed,
    TrainingLog,
    TrainingStarted,
    TrainingStartedMetadata,
)
from arkor.protocol.artifacts import ArtifactLayout

from ..config import TrainingPlan, resolve_plan
from ..reporting import FolderReporter
from . import resume_state
from .attention import use_attention_for
from .budget import BudgetedSchedule, TimeBudget
from .compiled import CompiledLayers, run_step
from .loss import labelled_token_loss_sum
from .setup import build_optimizer, build_scheduler, load_lora_model, save_adapter
from .step import train_step

log = logging.getLogger(__name__)


class StopRequested(Exception):
    """Raised at a step boundary after a stop was requested (the worker exits; no event is emitted:
    whoever asked for the stop records the job's `training.cancelled`)."""

    def __init__(self, step: int) -> None:
        super().__init__(f"cancelled at step {step}")
        self.step = step


class _Progress:
    """The step a run is at, shared with the heartbeat thread."""

    def __init__(self) -> None:
        self.step = 0


def _out_of_memory(exc: BaseException) -> bool:
    import torch

    if isinstance(exc, (MemoryError, torch.OutOfMemoryError)):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def _oom_message(plan: TrainingPlan | None, step: int) -> str:
    if plan is None:
        return "Ran out of memory while loading the model. Use a smaller model or free memory on this machine."
    return (
        f"Ran out of memory at step {step} on {plan.device}. Lower batch_size (now {plan.batch_size}) "
        f"and raise gradient_accumulation_steps (now {plan.gradient_accumulation_steps}) to keep the "
        f"effective batch, or lower lora.max_length (now {plan.max_length})"
        + (", or set lora.load_in_4bit=True (QLoRA)." if plan.device == "cuda" and not plan.load_in_4bit else ".")
    )


def _batches_forever(examples: list, plan: TrainingPlan, pad_id: int, skip: int = 0) -> Iterator[tuple[int, dict]]:
    """(epoch, collated batch) pairs, epoch after epoch, length-grouped by the data module; the first
    `skip` batches (those a resumed run already trained on) are passed over without collating."""
    from ..data import collate, iter_batches

    per_epoch = max(1, math.ceil(len(examples) / plan.batch_size))
    epoch, skip = divmod(skip, per_epoch)
    while True:
        for batch in iter_batches(examples, batch_size=plan.batch_size, seed=plan.seed, epoch=epoch):
            if skip:
                skip -= 1
                continue
            yield epoch, collate(batch, pad_id)
        epoch += 1


def _replayed(event: Any) -> None:
    """Where a resumed run's log of a step the backend already stored goes: nowhere."""


def _evaluate(model: Any, examples: list, plan: TrainingPlan, pad_id: int) -> float | None:
    import torch

    from ..data import collate

    if not examples:
        return None
    model.eval()
    total, count = 0.0, 0
    ordered = sorted(examples, key=lambda e: len(e.input_ids))
    with torch.no_grad():
        for start in range(0, len(ordered), plan.batch_size):
            batch = collate(ordered[start : start + plan.batch_size], pad_id)
            batch = {k: v.to(plan.device) for k, v in batch.items()}
            use_attention_for(model, plan.device, batch["input_ids"].shape[1])
            loss_sum, n = labelled_token_loss_sum(model, batch["input_ids"], batch["attention_mask"], batch["labels"])
            total += float(loss_sum)
            count += n
    model.train()
    return total / count if count else None


def run_training(
    job_id: str,
    config: JobConfig,
    output_dir: Path,
    reporter: FolderReporter,
    *,
    stop_requested: threading.Event | None = None,
    base_dir: Path | None = None,
    progress: _Progress | None = None,
    device: str | None = None,
    dataset_access: DatasetAccess | None = None,
    resume: Any = None,
) -> str:
    """Run one job, emitting its events through `reporter`. Returns "completed" or "failed";
    raises StopRequested when `stop_requested` is set (no terminal event is emitted for that:
    whoever asked for the stop records the cancellation). `resume` (a `ResumeInfo`) continues an
    interrupted run from its checkpoint (see `resume_state`)."""
    stop_requested = stop_requested or threading.Event()
    progress = progress or _Progress()
    plan: TrainingPlan | None = None
    try:
        plan = resolve_plan(config, device=device, dtype=None if device is None or device == "cpu" else "bfloat16")
        return _train(
            job_id, config, plan, output_dir, reporter, stop_requested, base_dir, progress, dataset_access, resume
        )
    except StopRequested:
        raise
    except (ConfigError, DatasetValidationError, ModelNotAvailableError, ArkorError) as exc:
        message = str(exc)
    except Exception as exc:  # the worker's last line of defence: every failure becomes an event
        if _out_of_memory(exc):
            message = _oom_message(plan, progress.step)
        else:
            log.error("training crashed:\n%s", traceback.format_exc())
            message = f"Training crashed at step {progress.step}: {type(exc).__name__}: {exc}"
    reporter.emit(TrainingFailed(error=message, step=progress.step or None))
    return "failed"


def _train(
    job_id: str,
    config: JobConfig,
    plan: TrainingPlan,
    output_dir: Path,
    reporter: FolderReporter,
    stop_requested: threading.Event,
    base_dir: Path | None,
    progress: _Progress,
    dataset_access: DatasetAccess | None = None,
    resume: Any = None,
) -> str:
    import torch

    from ..data import prepare_dataset
    from ..models import load_tokenizer

    torch.manual_seed(plan.seed)
    started = time.monotonic()
    tokenizer = load_tokenizer(plan.model_id)
    dataset = prepare_dataset(config, tokenizer, base_dir=base_dir, access=dataset_access)
    if stop_requested.is_set():
        raise StopRequested(0)
    model = load_lora_model(plan)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    total_steps = plan.total_steps(len(dataset.train))
    started_event = TrainingStarted(
        metadata=TrainingStartedMetadata(
            device=plan.device,
            dtype=plan.dtype,
            model=plan.model_id,
            trainable_params=trainable,
            total_params=total,
            dataset_rows=len(dataset.train),
            eval_rows=len(dataset.eval),
            max_steps=total_steps,
            dataset_format=dataset.format,
            load_seconds=round(time.monotonic() - started, 2),
            dataset_stats=dataset.stats,
        )
    )
    if resume is None or not resume.started_reported:  # a resumed run is not announced as new
        reporter.emit(started_event)

    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    optimizer = build_optimizer(model, plan)
    budget = TimeBudget(plan.max_time_s) if plan.max_time_s else None
    scheduler = (
        BudgetedSchedule(optimizer, plan, total_steps, budget)
        if budget is not None
        else build_scheduler(optimizer, plan, total_steps)
    )
    task_scorer = None
    if dataset.score_rows:
        from .task_eval import TaskScorer

        task_scorer = TaskScorer(dataset.score_rows, tokenizer, plan)
    loop = resume_state.LoopState()
    found = resume_state.find_resumable(output_dir, at_most=resume.step) if resume is not None and resume.step else None
    if found is not None:
        loop = resume_state.restore(found[1], model=model, optimizer=optimizer, scheduler=scheduler)
        log.info("resumed from the checkpoint of step %s (%s)", loop.step, found[1])
    logged_through = resume.logged_through_step if resume is not None else 0
    batches = _batches_forever(dataset.train, plan, pad_id, skip=loop.micro_batches)
    batches_per_epoch = max(1, math.ceil(len(dataset.train) / plan.batch_size))
    steps_per_epoch = batches_per_epoch / plan.gradient_accumulation_steps
    keep_checkpoints = resume_state.keep_limit(config)
    compiled = CompiledLayers(model) if plan.torch_compile else None

    model.train()
    window_losses: list[float] = list(loop.window_losses)
    window_samples, window_tokens = loop.window_samples, loop.window_tokens
    window_start = time.monotonic()
    run_tokens, run_samples = loop.run_tokens, loop.run_samples
    last_loss, last_eval = loop.last_loss, loop.last_eval
    micro_done = loop.micro_batches
    progress.step = steps_done = loop.step
    stopped_by = "steps"
    if budget is not None:
        budget.resume()
    for step in range(loop.step + 1, total_steps + 1):
        if stop_requested.is_set():
            raise StopRequested(step - 1)
        step_started = time.monotonic()
        if budget is not None:
            scheduler.before_step(step)
        micro = [next(batches)[1] for _ in range(plan.gradient_accumulation_steps)]  # (epoch, batch) pairs
        result = run_step(compiled, optimizer, functools.partial(train_step, model, optimizer, micro, plan))
        scheduler.step()
        step_loss = result.loss
        window_samples += result.samples
        window_tokens += result.tokens
        micro_done += len(micro)
        progress.step = steps_done = step
        last_loss = step_loss
        if not math.isfinite(step_loss):
            raise ArkorError(
                f"Loss became {step_loss} at step {step}. Lower learning_rate (now {plan.learning_rate}) "
                "or check the dataset for empty or corrupt rows."
            )
        window_losses.append(step_loss)
        final = step == total_steps
        checkpoint_due = bool(plan.save_steps and step % plan.save_steps == 0)
        if budget is not None:
            budget.record_step(time.monotonic() - step_started)
            if not final and not budget.room_for_another_step(checkpoint_first=checkpoint_due):
                final, stopped_by = True, "max_time"

        eval_loss = None
        eval_now = bool(plan.eval_steps and (step % plan.eval_steps == 0 or final))
        # Evaluating is the user's check, not training: it does not spend the budget.
        with budget.paused() if budget is not None else contextlib.nullcontext():
            if eval_now and dataset.eval:
                eval_loss = last_eval = _evaluate(model, dataset.eval, plan, pad_id)
            if task_scorer is not None and len(task_scorer) and (eval_now or final):
                evaluation = task_scorer.score(model, step)
                if step > logged_through:  # a resumed run does not report a replayed step's score again
                    reporter.emit(evaluation)
        if step % plan.logging_steps == 0 or final or eval_loss is not None:
            elapsed = max(time.monotonic() - window_start, 1e-9)
            report = (
                reporter.emit if step > logged_through else _replayed
            )  # a resumed run's replayed steps stay unreported
            report(
                TrainingLog(
                    step=step,
                    loss=sum(window_losses) / len(window_losses) if window_losses else None,
                    eval_loss=eval_loss,
                    learning_rate=scheduler.get_last_lr()[0],
                    epoch=round(micro_done / plan.gradient_accumulation_steps / steps_per_epoch, 4),
                    samples_per_second=round(window_samples / elapsed, 3),
                    tokens_per_second=round(window_tokens / elapsed, 2),
                )
            )
            run_tokens += window_tokens
            run_samples += window_samples
            window_losses, window_samples, window_tokens = [], 0, 0
            window_start = time.monotonic()

        if checkpoint_due and not final:
            checkpoint_started = time.monotonic()
            state = resume_state.LoopState(
                step=step,
                micro_batches=micro_done,
                epoch=micro_done // batches_per_epoch,
                batch_index=micro_done % batches_per_epoch,
                window_losses=list(window_losses),
                window_samples=window_samples,
                window_tokens=window_tokens,
                run_samples=run_samples,
                run_tokens=run_tokens,
                last_loss=last_loss,
                last_eval=last_eval,
            )
            folder = resume_state.save_checkpoint(
                model=model,
                optimizer=optimizer,
                scheduler=scheduler,
                plan=plan,
                config=config,
                output_dir=output_dir,
                loop=state,
                keep=keep_checkpoints,
                job_id=job_id,
            )
            if resume is None or step > resume.step:  # the backend holds the ones up to resume.step already
                reporter.emit(CheckpointSaved(step=step, artifacts=reporter.publish_files(folder)))
            if budget is not None:
                budget.record_checkpoint(time.monotonic() - checkpoint_started)
        if final:
            break

    runtime = time.monotonic() - started
    metrics: dict[str, Any] = {
        "steps": steps_done,
        "stoppedBy": stopped_by,
        "trainLoss": last_loss,
        "evalLoss": last_eval,
        "runtimeSeconds": round(runtime, 2),
        "trainSamples": run_samples,
        "trainTokens": run_tokens,
        "device": plan.device,
    }
    if resume is not None:  # the last worker of an interrupted job: where it went on from (0: the start)
        metrics["resumedFromStep"] = found[0] if found is not None else 0
    if budget is not None:
        budget.pause()
        metrics["trainSeconds"] = round(budget.spent, 2)
    if compiled is not None:
        metrics["torchCompile"] = compiled.status()
    try:
        layout = ArtifactLayout(Path(output_dir))
        folder = save_adapter(model, plan, layout.final, step=steps_done, config=config, job_id=job_id, metrics=metrics)
    except Exception as exc:
        fault = resume_state.as_disk_fault(exc)
        if fault is None:
            raise
        raise resume_state.CheckpointWriteError(
            resume_state.disk_fault_message(
                "Saving the final adapter",
                layout.final,
                fault,
                needed_mb=resume_state.estimated_checkpoint_mb(model) / 3,
                hint="then resume the job with `arkor jobs resume JOB` (it goes on from its last checkpoint)",
            )
        ) from None
    layout.metrics.write_text(json.dumps(metrics, indent=2))
    reporter.emit(TrainingCompleted(metrics=metrics, artifacts=reporter.publish_files(folder)))
    return "completed"

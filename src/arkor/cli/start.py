"""`arkor start [entry] [--dry-run]`: run the project's trainer and follow it to the end.

Rebuild rules (as the original): an entry argument rebuilds from it; no build yet builds from the
default entry; otherwise the existing `.arkor/build/` is reused, with one line on stderr when the
sources changed since that build. Exit codes (unlike the original,
so CI can trust them): 0 completed, 1 failed, 2 cancelled, 130 when the user stopped waiting.
Ctrl-C stops following and asks whether to cancel the backend job too; without a terminal it
leaves the job running and says how to cancel it.
"""

from __future__ import annotations

import dataclasses
import math
import signal
import sys
from typing import Any

import click

from ._common import console, echo_err, is_interactive, project_root
from .build import announce_build, build_dir, build_project, entry_from_user, read_manifest, stale_build_notice
from .plots import RunCurves

EXIT_BY_STATUS = {"completed": 0, "failed": 1, "cancelled": 2}
EXIT_STOPPED_WAITING = 130


def force_dry_run(trainer: Any) -> None:
    """Make this run a dry run whatever the trainer file says (Studio's dry-run toggle)."""
    from arkor.sdk.trainer import Trainer

    if not isinstance(trainer, Trainer):
        raise click.ClickException("--dry-run needs a trainer made with arkor's create_trainer(...).")
    trainer.force_dry_run()


class LossLine:
    """A live `step n/N  loss x` bar under the trainer's own output (terminals only)."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]training[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[loss]}"),
            TimeElapsedColumn(),
            console=console(),
            transient=True,
            redirect_stdout=True,
            redirect_stderr=True,
        )
        self.task = self.progress.add_task("training", total=None, loss="")

    def __enter__(self) -> LossLine:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def on_started(self, ctx: Any) -> None:
        events = getattr(ctx, "job", None)
        total = None
        config = getattr(events, "config", None)
        if config is not None and getattr(config, "max_steps", None):
            total = config.max_steps
        self.progress.update(self.task, total=total)

    def on_log(self, ctx: Any) -> None:
        text = ""
        if ctx.loss is not None and math.isfinite(ctx.loss):
            text = f"loss {ctx.loss:.4f}"
        if ctx.step is not None:
            self.progress.update(self.task, completed=ctx.step, loss=text)


def _chain(first: Any, second: Any) -> Any:
    if first is None:
        return second
    if second is None:
        return first

    def both(ctx: Any) -> Any:
        first(ctx)
        return second(ctx)

    return both


def _dataclass_callbacks(trainer: Any) -> Any:
    """The trainer's callbacks when they are a dataclass (arkor's `TrainerCallbacks`), which the printers
    below extend with `dataclasses.replace`; None for any other trainer."""
    callbacks = getattr(trainer, "callbacks", None)
    if callbacks is None or not dataclasses.is_dataclass(callbacks):
        return None
    return callbacks


def attach_loss_line(trainer: Any, line: LossLine) -> None:
    callbacks = _dataclass_callbacks(trainer)
    if callbacks is None:
        return
    trainer.callbacks = dataclasses.replace(
        callbacks,
        on_started=_chain(line.on_started, callbacks.on_started),
        on_log=_chain(line.on_log, callbacks.on_log),
    )


def format_evaluation(ctx: Any) -> str:
    """One line per `evaluation.completed`: all-exact accuracy, then each field."""
    fields = ", ".join(f"{name} {value:.0%}" for name, value in (ctx.fields or {}).items())
    accuracy = f"{ctx.accuracy:.0%}" if isinstance(ctx.accuracy, (int, float)) else "?"
    return (
        f"accuracy step={ctx.step} {accuracy}"
        + (f" ({fields})" if fields else "")
        + f" on {ctx.rows} held-out rows [{ctx.scorer}]"
    )


def attach_evaluation_printer(trainer: Any) -> None:
    """Print task accuracy as it arrives, whatever the trainer's own callbacks do."""
    callbacks = _dataclass_callbacks(trainer)
    if callbacks is None or not hasattr(callbacks, "on_evaluation"):
        return

    def show(ctx: Any) -> None:
        click.echo(format_evaluation(ctx))

    trainer.callbacks = dataclasses.replace(callbacks, on_evaluation=_chain(show, callbacks.on_evaluation))


def attach_curve_recorder(trainer: Any, curves: Any) -> None:
    """Record loss and accuracy as they arrive, for the chart printed when the run ends."""
    callbacks = _dataclass_callbacks(trainer)
    if callbacks is None:
        return

    def log(ctx: Any) -> None:
        curves.add_log(ctx.step, loss=ctx.loss, eval_loss=ctx.eval_loss)

    def evaluation(ctx: Any) -> None:
        curves.add_evaluation(ctx.step, ctx.accuracy, ctx.fields)

    update = {"on_log": _chain(log, callbacks.on_log)}
    if hasattr(callbacks, "on_evaluation"):
        update["on_evaluation"] = _chain(evaluation, callbacks.on_evaluation)
    trainer.callbacks = dataclasses.replace(callbacks, **update)


def print_curves(curves: Any) -> None:
    """The run's loss (and accuracy) as a text chart fitted to the terminal; ASCII when stdout
    cannot encode the box-drawing characters."""
    import shutil

    from .plots import can_encode_unicode, terminal_report

    width = min(shutil.get_terminal_size(fallback=(80, 24)).columns, 100)
    lines = terminal_report(curves, width=width, unicode=can_encode_unicode(sys.stdout))
    if lines:
        click.echo("")
        click.echo("\n".join(lines))


def _stop_waiting(trainer: Any, job_id: str | None) -> int:
    if is_interactive():
        try:
            cancel = click.confirm(
                f"\nStopped following job {job_id}. Cancel the job on the backend too?", default=False
            )
        except (click.Abort, EOFError, KeyboardInterrupt):
            cancel = False
        if cancel:
            trainer.cancel()
            click.echo(f"Cancelled job {job_id}.")
            return EXIT_BY_STATUS["cancelled"]
    click.echo(
        f"Stopped waiting. Job {job_id} keeps running on the backend; cancel it with `arkor jobs cancel {job_id}`."
    )
    return EXIT_STOPPED_WAITING


def run_project_trainer(trainer: Any) -> int:
    """start() + wait() with the CLI's output; returns the exit code."""
    live = sys.stdout.isatty()
    if live:
        with console().status("Submitting the job (starting the local backend and uploading data when needed)"):
            started = trainer.start()
    else:
        started = trainer.start()
    job_id = getattr(started, "job_id", None) or (started.get("jobId") if isinstance(started, dict) else None)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # Started with SIGINT ignored (a background job of a script inherits that): an interrupt sent
        # to this process must still stop the following, as the message below promises.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:  # from here on, Ctrl-C means "stop following this job"
        click.echo(f"Started job {job_id}")
        attach_evaluation_printer(trainer)
        curves = RunCurves()
        attach_curve_recorder(trainer, curves)
        line = LossLine() if live else None
        if line is not None:
            attach_loss_line(trainer, line)
        if line is not None:
            with line:
                result = trainer.wait()
        else:
            result = trainer.wait()
    except KeyboardInterrupt:
        return _stop_waiting(trainer, job_id)
    status = result.job.status
    print_curves(curves)
    click.echo(f"Job {job_id} finished with status={status}")
    compiled = (getattr(result, "metrics", None) or {}).get("torchCompile")
    if isinstance(compiled, str) and compiled != "compiled":
        echo_err(f"Warning: torch_compile=True, but the run trained {compiled}")
    if status == "failed" and result.job.error:
        echo_err(f"Error: {result.job.error}")
    return EXIT_BY_STATUS.get(status, 1)


@click.command("start")
@click.argument("entry", required=False)
@click.option("--dry-run", is_flag=True, help="Run a few steps on a few rows, whatever the trainer says.")
def start_command(entry: str | None, dry_run: bool) -> None:
    """Run the project's trainer: rebuild when ENTRY is given or no build exists, else reuse the build."""
    from arkor.sdk.runner import load_entry, pick_trainer

    cwd = project_root()
    manifest = read_manifest(cwd)
    if entry is not None or manifest is None:
        manifest = build_project(entry_from_user(entry), cwd)
        announce_build(manifest, cwd)
    else:
        notice = stale_build_notice(manifest, cwd)
        if notice:
            echo_err(notice)
    trainer = pick_trainer(load_entry(build_dir(cwd) / manifest["entry"], cwd))
    if dry_run:
        force_dry_run(trainer)
    sys.exit(run_project_trainer(trainer))

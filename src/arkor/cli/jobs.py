"""`arkor jobs list|show|logs [-f]|cancel|resume`: this project's jobs on its backend (`--json` for scripts).

JOB_ID may be any unique prefix of a job id (ids are shown shortened); an ambiguous one is
refused with the ids it matches. The project is the one whose `.arkor/state.json` is found upward
from the current folder. Read commands never create credentials or a project: with neither, `list`
says there is nothing to show.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ._common import CliError, Session, console, open_session, project_root, project_scope


def _session() -> Session:
    session = open_session()
    if session is None:
        raise CliError("Not signed in. Run `arkor login` or `arkor login --anonymous`.")
    return session


def _format_event(event: dict[str, Any]) -> str:
    kind = event.get("type", "?")
    stamp = event.get("timestamp", "")
    if kind == "training.log":
        parts = [f"step={event.get('step')}"]
        for key, label in (("loss", "loss"), ("evalLoss", "evalLoss"), ("learningRate", "lr")):
            value = event.get(key)
            if isinstance(value, (int, float)) and math.isfinite(value):
                parts.append(f"{label}={value:.4g}" if key == "learningRate" else f"{label}={value:.4f}")
        detail = " ".join(parts)
    elif kind == "evaluation.completed":
        given = event.get("fields")
        scores = given if isinstance(given, dict) else {}
        fields = ", ".join(f"{k} {v:.0%}" for k, v in scores.items() if isinstance(v, (int, float)))
        accuracy = event.get("accuracy")
        detail = (
            f"step={event.get('step')} accuracy={accuracy:.0%}"
            if isinstance(accuracy, (int, float))
            else f"step={event.get('step')}"
        ) + (f" ({fields})" if fields else "")
    elif kind == "checkpoint.saved":
        detail = f"step={event.get('step')} ({len(event.get('artifacts') or [])} files)"
    elif kind == "training.failed":
        detail = str(event.get("error"))
    elif kind == "training.completed":
        detail = f"{len(event.get('artifacts') or [])} artifacts"
    elif kind == "training.started":
        meta = event.get("metadata") or {}
        detail = ", ".join(f"{k}={meta[k]}" for k in ("model", "device", "datasetRows", "maxSteps") if k in meta)
    elif kind == "training.cancelled":
        detail = str(event.get("reason") or "")
    elif kind == "training.resumed":
        detail = f"from step {event.get('step')}: {event.get('reason')}"
    else:
        detail = ""
    return f"{stamp} {kind} {detail}".strip()


@click.group("jobs")
def jobs_group() -> None:
    """This project's training jobs."""


@jobs_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_command(as_json: bool) -> None:
    """The project's jobs, newest first."""
    from arkor.sdk.state import read_state

    session = open_session()
    state = read_state(project_root())
    if session is None or state is None:
        click.echo("[]" if as_json else "No jobs yet (this folder has no project state; run `arkor start`).")
        return
    with session.client as client:
        jobs = client.list_jobs(state).jobs
    if as_json:
        click.echo(json.dumps([job.to_wire() for job in jobs], indent=2))
        return
    if not jobs:
        click.echo("No jobs yet. Run `arkor start`.")
        return
    from rich.table import Table

    table = Table("id", "name", "status", "model", "created", box=None)
    for job in jobs:
        table.add_row(job.id, job.name, job.status, job.config.model, job.created_at)
    console().print(table)


def _job_events(client: Any, job_id: str, state: Any) -> list[dict[str, Any]]:
    events = client.get_job(job_id, state, events=True).events
    return [event for event in events or [] if isinstance(event, dict)]


def _write_plot(job: Any, events: list[dict[str, Any]], path: str) -> None:
    from .plots import RunCurves, write_png

    curves = RunCurves.from_events(events)
    if curves.is_empty():
        raise CliError(f"Job {job.id} has no logged steps yet (status={job.status}); there is nothing to plot.")
    target = Path(path or f"{job.id}-curves.png")
    if target.is_dir():
        target = target / f"{job.id}-curves.png"
    if not target.parent.is_dir():
        raise CliError(f"Cannot write the plot to {target}: folder {target.parent} does not exist.")
    try:
        write_png(curves, target, title=f"{job.name} ({job.id}, {job.config.model})")
    except OSError as exc:
        raise CliError(f"Cannot write the plot to {target}: {exc.strerror or exc}") from None
    click.echo(f"Wrote the plot of job {job.id} to {target}")


@jobs_group.command("show")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True)
@click.option(
    "--plot",
    "plot_path",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[PATH]",
    help="Also write a PNG of the curves (loss, learning rate, tokens/s, accuracy) to PATH "
    "(default: JOB_ID-curves.png here). Needs the plot extra: pip install 'arkor[plot]'.",
)
def show_command(job_id: str, as_json: bool, plot_path: str | None) -> None:
    """One job: status, config, error, checkpoints and artifacts."""
    if plot_path is not None:
        from .plots import PlotUnavailable, check_png_support

        try:
            check_png_support()  # before any request: a missing extra is the first thing to fix
        except PlotUnavailable as exc:
            raise CliError(str(exc)) from None
    state = project_scope()
    with _session().client as client:
        job = client.get_job(job_id, state).job  # the backend takes a unique prefix; use the full id after
        checkpoints = client.list_checkpoints(job.id, state).checkpoints
        artifacts = client.list_artifacts(job.id, state).artifacts
        events = _job_events(client, job.id, state) if plot_path is not None else []
    if plot_path is not None:
        _write_plot(job, events, plot_path)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "job": job.to_wire(),
                    "checkpoints": [c.to_wire() for c in checkpoints],
                    "artifacts": [a.to_wire() for a in artifacts],
                },
                indent=2,
            )
        )
        return
    click.echo(f"{job.id}  {job.name}  status={job.status}")
    click.echo(f"  model:     {job.config.model}")
    click.echo(f"  created:   {job.created_at}")
    if job.started_at:
        click.echo(f"  started:   {job.started_at}")
    if job.completed_at:
        click.echo(f"  ended:     {job.completed_at}")
    if job.error:
        click.echo(f"  error:     {job.error}")
    click.echo(f"  checkpoints: {', '.join(str(c.step) for c in checkpoints) or 'none'}")
    click.echo(f"  artifacts:   {len(artifacts)} files")
    click.echo(f"  config:    {json.dumps(job.config.to_wire())}")


def follow_job(
    client: Any,
    job_id: str,
    state: Any,
    print_event: Callable[[dict[str, Any]], Any],
    *,
    policy: Any = None,
    sleep: Callable[[float], None] | None = None,
) -> Any:
    """Print the job's events until it ends, through the SDK's own wait flow: reconnects resume
    after the last event id, with the trainer's backoff (a stream that closes cleanly while the job
    runs is retried after a pause, never in a tight loop). Returns the job's final snapshot."""
    from arkor.protocol import TERMINAL_STATUSES
    from arkor.sdk import _drivers
    from arkor.sdk._wait_flow import ReconnectPolicy, WaitState, wait_flow
    from arkor.sdk.callbacks import TrainerCallbacks

    job = client.get_job(job_id, state).job
    cursor = WaitState(job=job)
    while True:
        flow = wait_flow(
            cursor,
            policy or ReconnectPolicy(),
            TrainerCallbacks(),
            lambda step, job, artifacts: None,
            lambda: None,
            on_event=lambda event: print_event(event.to_wire()),
        )
        result = _drivers.drive_sync(flow, client=client, job_id=job.id, scope=state, signal=None, sleep=sleep)
        latest = client.get_job(job.id, state).job
        if latest.status in TERMINAL_STATUSES:
            return result.job
        # Resumed since the end the stream replayed (`arkor jobs resume`): its events go on after it.
        cursor = WaitState(job=latest, last_event_id=cursor.last_event_id)


@jobs_group.command("logs")
@click.argument("job_id")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new events until the job ends.")
@click.option("--json", "as_json", is_flag=True, help="One event JSON object per line.")
def logs_command(job_id: str, follow: bool, as_json: bool) -> None:
    """The job's events (training.started, logs, checkpoints, the end)."""
    state = project_scope()
    with _session().client as client:
        if follow:
            try:
                follow_job(
                    client,
                    job_id,
                    state,
                    lambda event: click.echo(json.dumps(event) if as_json else _format_event(event)),
                )
            except KeyboardInterrupt:
                sys.exit(130)
            return
        events = _job_events(client, job_id, state)
    for event in events:
        click.echo(json.dumps(event) if as_json else _format_event(event))


@jobs_group.command("cancel")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True)
def cancel_command(job_id: str, as_json: bool) -> None:
    """Stop a queued or running job (exit 1 if it already ended)."""
    from arkor.sdk.errors import CloudApiError

    state = project_scope()
    with _session().client as client:
        job_id = client.get_job(job_id, state).job.id  # a unique prefix names the job too
        try:
            client.cancel_job(job_id, state)
        except CloudApiError as exc:
            if exc.status == 409:
                raise CliError(f"Job {job_id} already ended: {exc.message}") from None
            raise
        job = client.get_job(job_id, state).job
    if as_json:
        click.echo(json.dumps(job.to_wire(), indent=2))
    else:
        click.echo(f"Cancelled job {job_id} (status={job.status}).")


@jobs_group.command("resume")
@click.argument("job_id")
@click.option("-f", "--follow", is_flag=True, help="Then print its events until it ends.")
@click.option("--json", "as_json", is_flag=True)
def resume_command(job_id: str, follow: bool, as_json: bool) -> None:
    """Restart a failed or cancelled job from its last checkpoint, as the same job."""
    from arkor.sdk.errors import CloudApiError

    state = project_scope()
    with _session().client as client:
        try:
            job = client.resume_job(job_id, state).job
        except CloudApiError as exc:
            if exc.status == 409:
                raise CliError(f"Job {job_id} cannot be resumed: {exc.message}") from None
            raise
        if as_json and not follow:
            click.echo(json.dumps(job.to_wire(), indent=2))
            return
        if not as_json:
            click.echo(f"Resumed job {job_id} (status={job.status}); it goes on from its last checkpoint.")
        if follow:
            try:
                follow_job(
                    client,
                    job_id,
                    state,
                    lambda event: click.echo(json.dumps(event) if as_json else _format_event(event)),
                )
            except KeyboardInterrupt:
                sys.exit(130)

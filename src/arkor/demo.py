"""`make demo` (`python -m arkor.demo`): a user's first fine-tune, end to end, then proof that the model learned.

1. `arkor init --template triage` into a scratch folder; 2. held-out accuracy of the base model;
3. `arkor start` on the embedded backend (ARKOR_HOME inside the scratch folder, so nothing of the
user's own arkor state is touched); 4. `arkor export` of the final adapter and held-out accuracy
with it; 5. accuracy on hand-written tickets; 6. how to open Studio on that project. The backend is
stopped at the end. Every step runs the `arkor` CLI in a subprocess, exactly as a user types it.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from arkor.engine.evaluate import EvalReport

TEMPLATE = "triage"

SPARK = " ▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int = 60) -> str:
    """One character per value, or per run of values averaged when there are more than `width`."""
    if len(values) > width:
        values = [
            sum(chunk) / len(chunk)
            for chunk in (values[i * len(values) // width : (i + 1) * len(values) // width] for i in range(width))
        ]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(SPARK[1 + int((v - low) / span * (len(SPARK) - 2))] for v in values)


def print_results(console: Console, template: str, losses: list[float], before: EvalReport, after: EvalReport) -> None:
    """The loss curve, the base vs fine-tuned accuracy table and one sample answer."""
    if losses:
        console.print(f"loss curve ({losses[0]:.3f} -> {losses[-1]:.3f}): {sparkline(losses)}")
    table = Table(title=f"{template}: held-out accuracy ({after.rows} rows)")
    table.add_column("field")
    table.add_column("base", justify="right")
    table.add_column("fine-tuned", justify="right")
    for field in after.accuracy:
        table.add_row(field, f"{before.accuracy.get(field, 0):.0%}", f"{after.accuracy[field]:.0%}")
    console.print(table)
    predicted, expected = after.samples[0]
    console.print(f"sample output: {predicted}\nexpected:      {expected}", highlight=False, markup=False)


def _arkor(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "arkor.cli.main", *args], cwd=cwd, env=env, text=True, capture_output=True
    )


ACCURACY_LINE = re.compile(r"accuracy step=(\d+) (\d+)%(?: \((.*)\))? on (\d+) held-out rows")


def _stream_start(
    env: dict[str, str], cwd: Path, console: Console
) -> tuple[int, str | None, list[float], list[tuple[int, str, str]]]:
    """Run `arkor start`, echoing its output; returns (exit code, job id, losses, accuracy per eval
    step as (step, all-fields-exact, per field))."""
    process = subprocess.Popen(
        [sys.executable, "-m", "arkor.cli.main", "start"],
        cwd=cwd,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    job_id: str | None = None
    losses: list[float] = []
    accuracy: list[tuple[int, str, str]] = []
    assert process.stdout is not None
    for line in process.stdout:
        console.print("  " + line.rstrip(), highlight=False, markup=False, soft_wrap=True)
        if job_id is None and (match := re.search(r"Started job (\S+)", line)):
            job_id = match.group(1)
        if match := re.match(r"step=\d+ loss=([0-9.]+)", line):
            losses.append(float(match.group(1)))
        if match := ACCURACY_LINE.search(line):
            accuracy.append((int(match.group(1)), f"{match.group(2)}%", match.group(3) or ""))
    return process.wait(), job_id, losses, accuracy


def main(argv: list[str] | None = None) -> int:
    from arkor.engine.evaluate import evaluate_template
    from arkor.engine.models import DEFAULT_MODEL, resolve_model_path

    parser = argparse.ArgumentParser(prog="python -m arkor.demo", description="arkor's first-run demo")
    parser.add_argument("--dir", type=Path, help="scratch folder (default: a new temporary folder)")
    parser.add_argument("--eval-rows", type=int, default=None, help="held-out rows to score (default: all)")
    args = parser.parse_args(argv)
    console = Console()
    scratch = (args.dir or Path(tempfile.mkdtemp(prefix="arkor-demo-"))).resolve()
    scratch.mkdir(parents=True, exist_ok=True)
    project, home = scratch / "triage-demo", scratch / "arkor-home"
    env = {k: v for k, v in os.environ.items() if k not in ("ARKOR_CLOUD_API_URL", "CI")}
    env.update(ARKOR_HOME=str(home), PYTHONUNBUFFERED="1")

    console.rule(f"arkor demo: fine-tune {DEFAULT_MODEL} on the {TEMPLATE} template")
    console.print(f"[bold]1. arkor init --template {TEMPLATE}[/bold] into {project}")
    init = _arkor(env, scratch, "init", str(project), "--template", TEMPLATE, "-y", "--skip-git")
    console.print(init.stdout.rstrip(), highlight=False, markup=False)
    if init.returncode != 0:
        console.print(f"[red]arkor init failed:[/red] {init.stderr}")
        return 1
    resolve_model_path(DEFAULT_MODEL, progress=True)

    def progress(label: str):  # type: ignore[no-untyped-def]
        # A terminal redraws one line; a log gets no carriage-return runs, only the scores after it.
        def show(done: int, total: int) -> None:
            if console.is_terminal:
                console.print(f"  {label}: {done}/{total} held-out rows", end="\r")

        return show

    console.print("[bold]2. Held-out accuracy of the base model[/bold]")
    before = evaluate_template(TEMPLATE, DEFAULT_MODEL, max_rows=args.eval_rows, on_row=progress("base"))
    console.print(f"  base model: exact-field accuracy {before.exact_fields:.0%}            ")

    try:
        console.print("[bold]3. arkor start[/bold] (embedded local backend)")
        started = time.monotonic()
        code, job_id, losses, accuracy = _stream_start(env, project, console)
        seconds = time.monotonic() - started
        if code != 0 or job_id is None:
            console.print(f"[red]arkor start exited with {code}.[/red]")
            return 1

        console.print(f"[bold]4. arkor export {job_id}[/bold] and held-out accuracy with the adapter")
        adapter = scratch / "adapter"
        exported = _arkor(env, project, "export", job_id, "--out", str(adapter))
        if exported.returncode != 0:
            console.print(f"[red]arkor export failed:[/red] {exported.stderr}")
            return 1
        after = evaluate_template(
            TEMPLATE, DEFAULT_MODEL, adapter_dir=adapter, max_rows=args.eval_rows, on_row=progress("fine-tuned")
        )
        console.print(f"  fine-tuned: exact-field accuracy {after.exact_fields:.0%}            ")
        console.print("[bold]5. Generalisation[/bold]: tickets written by hand, in words the data generator never uses")
        handwritten = evaluate_template(
            TEMPLATE, DEFAULT_MODEL, adapter_dir=adapter, split="handwritten", on_row=progress("hand-written")
        )
        console.print(f"  hand-written: exact-field accuracy {handwritten.exact_fields:.0%}            ")
    finally:
        _arkor(env, project, "server", "stop")

    console.rule("Results")
    if accuracy:
        table = Table(title="held-out accuracy while training (every field exact; scored by the engine)")
        for column in ("step", "all fields exact", "per field"):
            table.add_column(column)
        for step, value, fields in accuracy:
            table.add_row(str(step), value, fields)
        console.print(table)
        values = [float(value.rstrip("%")) for _, value, _ in accuracy]
        console.print(
            f"accuracy curve ({accuracy[0][1]} at step {accuracy[0][0]} -> {accuracy[-1][1]} at step "
            f"{accuracy[-1][0]}): {sparkline([0.0, *values, 100.0])[1:-1]}",
            highlight=False,
            markup=False,
        )
    print_results(console, TEMPLATE, losses, before, after)
    fields = ", ".join(f"{k} {v:.0%}" for k, v in handwritten.accuracy.items() if k != "exact_fields")
    console.print(f"hand-written tickets ({handwritten.rows} rows): {fields}", highlight=False)
    console.print(f"`arkor start` took {seconds:.0f}s; adapter in {adapter}")
    console.print("[bold]Open Studio[/bold] on this project (jobs, loss curve, playground):")
    console.print(f"  cd {project} && ARKOR_HOME={home} arkor dev", highlight=False, markup=False)
    return 0 if after.exact_fields > before.exact_fields else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""`make demo`: the product path end to end, then proof that the model learned.

Default (CLI) flow: `arkor init --template triage` into a scratch folder, `arkor start` on the
embedded local backend (its ARKOR_HOME inside the scratch folder), `arkor export` of the final
adapter, held-out exact-field accuracy before and after, and how to open Studio.
`--engine` runs the older engine-only demo (the worker in-process, no backend).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

SPARK = " ▁▂▃▄▅▆▇█"


def sparkline(values: list[float]) -> str:
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(SPARK[1 + int((v - low) / span * (len(SPARK) - 2))] for v in values)


def print_results(console: Console, template: str, losses: list[float], before, after) -> None:  # type: ignore[no-untyped-def]
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


def engine_demo(argv: list[str] | None = None) -> int:
    from arkor.engine.evaluate import evaluate_template
    from arkor.engine.models import DEFAULT_MODEL, resolve_model_path
    from arkor.engine.reporting import FolderReporter
    from arkor.engine.worker import run_spec
    from arkor.protocol import JobConfig, WorkerSpec
    from arkor.protocol.artifacts import ArtifactLayout
    from arkor.templates.scoring import data_dir

    parser = argparse.ArgumentParser(prog="python -m arkor.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--template", default="triage", choices=["triage", "translate", "redaction"])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--eval-rows", type=int, default=30)
    args = parser.parse_args(argv)
    console = Console()

    console.rule(f"arkor demo: fine-tune {args.model} on the {args.template} template")
    resolve_model_path(args.model, progress=True)

    def eval_progress(label: str):
        def show(done: int, total: int) -> None:
            console.print(f"  {label}: {done}/{total} held-out rows", end="\r")
        return show

    console.print("[bold]1. Held-out accuracy of the base model[/bold]")
    before = evaluate_template(args.template, args.model, max_rows=args.eval_rows, on_row=eval_progress("base"))
    console.print(f"  base model: exact-field accuracy {before.exact_fields:.0%}            ")

    console.print(f"[bold]2. LoRA fine-tuning, {args.steps} steps[/bold]")
    out = Path(tempfile.mkdtemp(prefix="arkor-demo-"))
    config = JobConfig.model_validate({
        "model": args.model,
        "datasetSource": {"type": "file", "path": str(data_dir(args.template) / "train.jsonl")},
        "maxSteps": args.steps,
        "batchSize": 4,
        "learningRate": 4e-4,
        "loraR": 16,
        "loraAlpha": 32,
        "maxLength": 512,
        "lrSchedulerType": "cosine",
        "warmupSteps": 3,
        "loggingSteps": 1,
    })
    losses: list[float] = []

    class PrintingReporter(FolderReporter):
        def emit(self, event):
            payload = super().emit(event)
            if payload["type"] == "training.started":
                meta = payload.get("metadata", {})
                console.print(f"  {meta.get('datasetRows')} rows, {meta.get('trainableParams'):,} trainable params on {meta.get('device')}")
            elif payload["type"] == "training.log" and payload.get("loss") is not None:
                losses.append(payload["loss"])
                console.print(f"  step {payload['step']:>3}/{args.steps}  loss {payload['loss']:.4f}  {payload.get('tokensPerSecond', 0):.0f} tok/s")
            elif payload["type"] == "training.failed":
                console.print(f"[red]  training failed: {payload['error']}[/red]")
            return payload

    import arkor.engine.worker as worker

    worker.make_reporter = lambda job_id, output_dir, target: PrintingReporter(job_id, output_dir)
    started = time.monotonic()
    code = run_spec(WorkerSpec(job_id="demo", config=config, output_dir=str(out)))
    layout = ArtifactLayout(out)
    if code != 0 or not layout.adapter_weights().exists():
        console.print("[red]Training did not complete.[/red]")
        return 1
    train_seconds = time.monotonic() - started

    console.print("[bold]3. Held-out accuracy with the fine-tuned adapter[/bold]")
    after = evaluate_template(args.template, args.model, adapter_dir=layout.final, max_rows=args.eval_rows, on_row=eval_progress("fine-tuned"))
    console.print(f"  fine-tuned: exact-field accuracy {after.exact_fields:.0%}            ")

    console.rule("Results")
    print_results(console, args.template, losses, before, after)
    console.print(f"training took {train_seconds:.0f}s; adapter in {layout.final}")
    return 0 if after.exact_fields > before.exact_fields else 1


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--engine" in args:
        args.remove("--engine")
        return engine_demo(args)
    from arkor.cli.demo import cli_demo

    return cli_demo(args)


if __name__ == "__main__":
    raise SystemExit(main())

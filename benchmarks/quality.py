"""Fine-tuning quality: held-out exact-field accuracy of the base model vs the fine-tuned adapter,
per bundled template (triage, translate, redaction).

For each template: score the base model on the held-out rows, fine-tune with arkor's engine (the
worker's `run_training`) on the template's train set, score the adapter on the same rows. Answers
are decoded greedily by `arkor.engine.infer` (one base model in memory, the adapter switched in)
and scored per field by `arkor.templates.scoring` (exact match after light normalisation).

    python benchmarks/quality.py [--templates triage,translate,redaction] [--steps 60] [--eval-rows 30]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import job_config, print_table  # noqa: E402

def fine_tune(model_id: str, template: str, *, steps: int, batch_size: int, lr: float, seed: int,
              output_dir: Path) -> tuple[Path, list[float]]:
    """Train an adapter with arkor's engine; returns the final adapter folder and the loss per step."""
    from arkor.engine.reporting import FolderReporter
    from arkor.engine.train import run_training

    config = job_config(model_id, template, maxSteps=steps, batchSize=batch_size, learningRate=lr, seed=seed,
                        loggingSteps=1)
    reporter = FolderReporter(f"quality-{template}", output_dir)
    if run_training(reporter.job_id, config, output_dir, reporter, stop_requested=threading.Event()) != "completed":
        raise RuntimeError(f"fine-tuning on {template} failed: {reporter.events[-1].get('error')}")
    losses = [e["loss"] for e in reporter.events if e["type"] == "training.log" and e.get("loss") is not None]
    return output_dir / "final", losses


def run_quality(model_id: str, templates: list[str], *, steps: int, eval_rows: int | None, batch_size: int = 4,
                lr: float = 2e-4, seed: int = 42, work_dir: Path | None = None) -> list[dict]:
    """Base vs fine-tuned accuracy for each template (one result dict per template)."""
    from arkor.engine.evaluate import evaluate_template
    from arkor.engine.infer import InferenceEngine

    work_dir = work_dir or Path(tempfile.mkdtemp(prefix="arkor-quality-"))
    engine = InferenceEngine(max_bases=1)
    results = []
    for template in templates:
        print(f"[quality] {template}: scoring the base model on {eval_rows or 'all'} held-out rows ...", file=sys.stderr, flush=True)
        base = evaluate_template(template, model_id, max_rows=eval_rows, engine=engine)
        print(f"[quality] {template}: fine-tuning {steps} steps ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        adapter, losses = fine_tune(model_id, template, steps=steps, batch_size=batch_size, lr=lr, seed=seed,
                                    output_dir=work_dir / template)
        train_s = time.perf_counter() - started
        print(f"[quality] {template}: scoring the fine-tuned adapter ...", file=sys.stderr, flush=True)
        tuned = evaluate_template(template, model_id, adapter_dir=adapter, max_rows=eval_rows, engine=engine)
        results.append({"template": template, "eval_rows": tuned.rows, "steps": steps, "train_seconds": train_s,
                        "first_loss": losses[0] if losses else None, "last_loss": losses[-1] if losses else None,
                        "base": base.accuracy, "fine_tuned": tuned.accuracy})
    return results


def print_report(model_id: str, results: list[dict], batch_size: int, lr: float) -> None:
    from arkor.templates.scoring import EXACT_FIELDS, VALID_JSON

    print(f"\nHeld-out exact-field accuracy, {model_id}, base vs fine-tuned with arkor's engine "
          f"(batch {batch_size}, lr {lr}, LoRA r16 all-linear, greedy decoding)")
    headers = ["template", "eval rows", "steps", "train loss", "base valid JSON", "base exact", "tuned valid JSON",
               "tuned exact", "tuned per field"]
    rows = []
    for r in results:
        fields = ", ".join(f"{k} {100 * v:.0f}%" for k, v in r["fine_tuned"].items() if k not in (VALID_JSON, EXACT_FIELDS))
        loss = f"{r['first_loss']:.3f} -> {r['last_loss']:.3f}" if r["first_loss"] is not None else None
        rows.append([r["template"], r["eval_rows"], r["steps"], loss,
                     f"{100 * r['base'][VALID_JSON]:.0f}%", f"{100 * r['base'][EXACT_FIELDS]:.1f}%",
                     f"{100 * r['fine_tuned'][VALID_JSON]:.0f}%", f"{100 * r['fine_tuned'][EXACT_FIELDS]:.1f}%", fields])
    print_table(headers, rows)


def main(argv: list[str] | None = None) -> int:
    from arkor.templates.scoring import TEMPLATE_NAMES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model id (default: arkor's default model)")
    parser.add_argument("--templates", default=",".join(TEMPLATE_NAMES))
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--eval-rows", type=int, default=30, help="held-out rows per template (0 = all)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--quick", action="store_true", help="the tiny test model, 3 steps, 3 rows (checks the plumbing)")
    parser.add_argument("--json", nargs="?", const="-", metavar="PATH", help="write JSON results (stdout if no PATH)")
    args = parser.parse_args(argv)

    from arkor.engine.models import DEFAULT_MODEL, TINY_TEST_MODEL

    model = args.model or (TINY_TEST_MODEL if args.quick else DEFAULT_MODEL)
    steps, eval_rows = (3, 3) if args.quick else (args.steps, args.eval_rows or None)
    templates = [t for t in args.templates.split(",") if t]
    results = run_quality(model, templates, steps=steps, eval_rows=eval_rows, batch_size=args.batch_size,
                          lr=args.lr, seed=args.seed)
    if args.json:
        text = json.dumps({"model": model, "batch_size": args.batch_size, "lr": args.lr, "results": results}, indent=2)
        print(text) if args.json == "-" else Path(args.json).write_text(text)
    if args.json != "-":
        print_report(model, results, args.batch_size, args.lr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

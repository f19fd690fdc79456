"""Fine-tuning quality: held-out exact-field accuracy of the base model vs the fine-tuned adapter,
per bundled template (triage, translate, redaction).

For each template: score the base model on the held-out rows, fine-tune with arkor's engine (the
worker's `run_training`) with the template's own trainer defaults, unedited (the project `arkor init
--template <t>` writes; its `max_time` budget, schedule and in-training accuracy included), then score
the adapter on the generated held-out file (`eval.jsonl`) and on the hand-written one
(`handwritten.jsonl`: words the generator never uses). Answers are decoded greedily, in batches
of rows (`arkor.engine.evaluate`), and scored per field by `arkor.templates.scoring` (exact match after light
normalisation; translate also reports chrF).

    python benchmarks/quality.py [--templates triage,translate,redaction] [--eval-rows N] [--no-schema]
        [--steps N] [--lr X]    # override the template's recipe (then max_time is dropped)
    python benchmarks/quality.py --vs trl [--target 0.9] [--every 20]   # time to target vs TRL
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
from _common import print_table, template_job_config  # noqa: E402
from goals import print_goals, quality_goals  # noqa: E402


def fine_tune(model_id: str, template: str, *, output_dir: Path, overrides: dict[str, Any]) -> dict[str, Any]:
    """Train an adapter with arkor's engine on the template's defaults (plus `overrides`); returns the
    final adapter folder, the loss per logged step, the run's metrics and its accuracy events."""
    from arkor.engine.reporting import FolderReporter
    from arkor.engine.train import run_training

    config = template_job_config(model_id, template, output_dir.parent / f"{template}-scaffold", **overrides)
    reporter = FolderReporter(f"quality-{template}", output_dir)
    if run_training(reporter.job_id, config, output_dir, reporter, stop_requested=threading.Event()) != "completed":
        raise RuntimeError(f"fine-tuning on {template} failed: {reporter.events[-1].get('error')}")
    events = reporter.events
    return {
        "adapter": output_dir / "final",
        "losses": [e["loss"] for e in events if e["type"] == "training.log" and e.get("loss") is not None],
        "metrics": events[-1].get("metrics", {}),
        "evaluations": [
            {k: e[k] for k in ("step", "accuracy", "fields", "rows")}
            for e in events
            if e["type"] == "evaluation.completed"
        ],
        "config": config.to_wire(),
    }


def run_quality(
    model_id: str,
    templates: list[str],
    *,
    eval_rows: int | None,
    overrides: dict[str, Any] | None = None,
    work_dir: Path | None = None,
    handwritten_rows: int | None = None,
    score_base: bool = True,
    score_schema: bool = True,
) -> list[dict]:
    """Base vs fine-tuned accuracy for each template (one result dict per template)."""
    from arkor.engine.evaluate import evaluate_template
    from arkor.templates.scoring import answer_response_format

    work_dir = work_dir or Path(tempfile.mkdtemp(prefix="arkor-quality-"))
    results = []
    for template in templates:
        base = None
        if score_base:
            print(
                f"[quality] {template}: scoring the base model on {eval_rows or 'all'} held-out rows ...",
                file=sys.stderr,
                flush=True,
            )
            base = evaluate_template(template, model_id, max_rows=eval_rows).accuracy
        print(f"[quality] {template}: fine-tuning with the template's defaults ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        run = fine_tune(model_id, template, output_dir=work_dir / template, overrides=overrides or {})
        wall_s = time.perf_counter() - started
        print(f"[quality] {template}: scoring the fine-tuned adapter ...", file=sys.stderr, flush=True)
        tuned = evaluate_template(template, model_id, adapter_dir=run["adapter"], max_rows=eval_rows)
        hand = evaluate_template(
            template,
            model_id,
            adapter_dir=run["adapter"],
            split="handwritten",
            max_rows=handwritten_rows,
        )
        constrained = None
        if score_schema:
            print(f"[quality] {template}: again with the answer schema (constrained decoding) ...", file=sys.stderr)
            constrained = evaluate_template(
                template,
                model_id,
                adapter_dir=run["adapter"],
                max_rows=eval_rows,
                response_format=answer_response_format(template),
            ).accuracy
        losses, metrics = run["losses"], run["metrics"]
        results.append(
            {
                "template": template,
                "eval_rows": tuned.rows,
                "steps": metrics.get("steps"),
                "stopped_by": metrics.get("stoppedBy"),
                "torch_compile": metrics.get("torchCompile"),  # None unless asked for: "compiled" or why not
                "train_seconds": metrics.get("trainSeconds", metrics.get("runtimeSeconds")),
                "wall_seconds": wall_s,
                "first_loss": losses[0] if losses else None,
                "last_loss": losses[-1] if losses else None,
                "base": base,
                "fine_tuned": tuned.accuracy,
                "fine_tuned_schema": constrained,
                "handwritten": hand.accuracy,
                "handwritten_rows": hand.rows,
                "misses": {"eval": tuned.misses, "handwritten": hand.misses},
                "evaluations": run["evaluations"],
                "config": run["config"],
            }
        )
    return results


def confusions(misses: list[dict]) -> str:
    """The wrong answers per field, counted: "urgency medium->low x4, ..." (the JSON has every row)."""
    from collections import Counter

    from arkor.templates.scoring import extract_json_object

    counts: Counter[str] = Counter()
    for miss in misses:
        predicted = extract_json_object(miss["predicted"]) or {}
        expected = extract_json_object(miss["expected"]) or {}
        for field in miss["fields"]:
            if field in expected:
                counts[f"{field} {predicted.get(field, '(none)')}->{expected[field]}"] += 1
            else:
                counts[field] += 1
    return ", ".join(f"{name} x{count}" for name, count in counts.most_common())


def print_report(model_id: str, results: list[dict]) -> None:
    from arkor.templates.scoring import EXACT_FIELDS, VALID_JSON

    def fields(acc: dict[str, float]) -> str:
        return ", ".join(f"{k} {100 * v:.0f}%" for k, v in acc.items() if k not in (VALID_JSON, EXACT_FIELDS))

    print(
        f"\nHeld-out accuracy, {model_id}, base vs fine-tuned with arkor's engine on each template's "
        "own defaults (greedy decoding)"
    )
    headers = [
        "template",
        "steps",
        "stopped by",
        "train s",
        "train loss",
        "base exact",
        "tuned valid JSON",
        "tuned per field (eval.jsonl)",
        "with the schema",
        "hand-written per field",
    ]
    rows = []
    for r in results:
        loss = f"{r['first_loss']:.3f} -> {r['last_loss']:.3f}" if r["first_loss"] is not None else None
        rows.append(
            [
                r["template"],
                r["steps"],
                r["stopped_by"],
                r["train_seconds"],
                loss,
                f"{100 * r['base'][EXACT_FIELDS]:.1f}%" if r["base"] else None,
                f"{100 * r['fine_tuned'][VALID_JSON]:.0f}%",
                f"{fields(r['fine_tuned'])} ({r['eval_rows']} rows)",
                fields(r["fine_tuned_schema"]) if r["fine_tuned_schema"] else None,
                f"{fields(r['handwritten'])} ({r['handwritten_rows']} rows)",
            ]
        )
    print_table(headers, rows)
    for r in results:
        if r["evaluations"]:
            steps = "; ".join(f"step {e['step']}: {100 * e['accuracy']:.0f}%" for e in r["evaluations"])
            print(f"{r['template']}: all-fields-exact while training ({r['evaluations'][0]['rows']} rows): {steps}")
        for split, misses in r.get("misses", {}).items():
            if misses:
                print(f"{r['template']}: {split} confusions (answered -> expected): {confusions(misses)}")
    print_goals(quality_goals(results))


def main(argv: list[str] | None = None) -> int:
    from arkor.templates.scoring import TEMPLATE_NAMES

    raw = list(sys.argv[1:] if argv is None else argv)
    if "--vs" in raw:  # `--vs trl`: time to target against TRL (benchmarks/time_to_target.py)
        at = raw.index("--vs")
        if raw[at + 1 : at + 2] != ["trl"]:
            parser_error = "--vs takes one value: trl"
            print(f"quality.py: error: {parser_error}", file=sys.stderr)
            return 2
        import time_to_target

        return time_to_target.main(raw[:at] + raw[at + 2 :])

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model id (default: arkor's default model)")
    parser.add_argument("--templates", default=",".join(TEMPLATE_NAMES))
    parser.add_argument("--steps", type=int, default=None, help="override: this many steps, no time budget")
    parser.add_argument("--lr", type=float, default=None, help="override the template's learning rate")
    parser.add_argument("--eval-rows", type=int, default=0, help="held-out rows per template (default 0 = all)")
    parser.add_argument(
        "--quick", action="store_true", help="the tiny test model, 3 steps, 3 rows (checks the plumbing)"
    )
    parser.add_argument(
        "--no-base", action="store_true", help="skip scoring the base model (it rambles to max_tokens: slow)"
    )
    parser.add_argument(
        "--no-schema", action="store_true", help="skip scoring again with the answer schema (constrained decoding)"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="WIRE_FIELD=JSON",
        help="override any trainer field by its wire name, e.g. --set batchSize=8 --set 'loraR=32'",
    )
    parser.add_argument("--json", nargs="?", const="-", metavar="PATH", help="write JSON results (stdout if no PATH)")
    args = parser.parse_args(argv)

    from arkor.engine.models import DEFAULT_MODEL, TINY_TEST_MODEL

    model = args.model or (TINY_TEST_MODEL if args.quick else DEFAULT_MODEL)
    overrides: dict[str, Any] = {}
    steps = 3 if args.quick else args.steps
    if steps is not None:
        overrides.update(maxSteps=steps, maxTime=None)
    if args.quick:
        overrides.update(evalRows=3)
    if args.lr is not None:
        overrides["learningRate"] = args.lr
    for item in args.set:
        key, _, value = item.partition("=")
        try:
            overrides[key] = json.loads(value)
        except ValueError:
            overrides[key] = value
    eval_rows = 3 if args.quick else (args.eval_rows or None)
    templates = [t for t in args.templates.split(",") if t]
    results = run_quality(
        model,
        templates,
        eval_rows=eval_rows,
        overrides=overrides,
        handwritten_rows=3 if args.quick else None,
        score_base=not args.no_base,
        score_schema=not args.no_schema,
    )
    if args.json:
        text = json.dumps({"model": model, "overrides": overrides, "results": results}, indent=2, default=str)
        print(text) if args.json == "-" else Path(args.json).write_text(text)
    if args.json != "-":
        print_report(model, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())

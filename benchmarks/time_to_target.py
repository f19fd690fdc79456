"""Time to target: how soon arkor's engine and TRL `SFTTrainer` first reach a held-out accuracy,
training the same template data with the same LoRA and recipe for the same wall-clock budget.

Both train the template's rows as arkor tokenizes them, with the template's own defaults (LoRA rank,
alpha and targets, learning rate, schedule over the template's epochs, warmup, batch size), each
stopped when the budget (the template's `max_time` unless given) is spent, saving an adapter every
`--every` steps with the training seconds it took to get there. Every adapter is then scored on the
same held-out rows (greedy decoding, exact fields); time to target is the training time of the
first adapter at or above `--target`, and, since adapters are seconds apart, also the time at which
the straight line between the last adapter below the target and the first one at it crosses it.
Checkpoint saving is timed as training for both.

arkor trains and is scored first. If TRL has not reached the target when the equal budget is spent,
it keeps training (its schedule is set in steps, so the extra time changes nothing before it) until
`--settle` times arkor's time to target, so that a ratio up to `--settle` is measured rather than
bounded. Its adapters past the equal budget are marked.

    python benchmarks/time_to_target.py [--template triage] [--target 0.9] [--every 20] [--budget 180]
    python benchmarks/quality.py --vs trl     # the same
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_table, template_job_config, tokenized_train_set  # noqa: E402
from goals import print_goals, time_to_target_goals  # noqa: E402


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def train_arkor(config: Any, every: int, budget_s: float, out: Path) -> list[tuple[float, int, Path]]:
    """(training seconds, step, adapter folder) per checkpoint, the final adapter last."""
    from arkor.engine.reporting import FolderReporter
    from arkor.engine.train import run_training

    config = config.model_copy(
        update={
            "save_steps": every,
            "save_total_limit": 1000,  # every checkpoint is scored afterwards: keep them all
            "max_time": budget_s,
            "eval_dataset": None,
            "eval_steps": None,
            "eval_scorer": None,
        }
    )
    reporter = FolderReporter("time-to-target", out)
    if run_training(reporter.job_id, config, out, reporter, stop_requested=threading.Event()) != "completed":
        raise RuntimeError(f"arkor training failed: {reporter.events[-1].get('error')}")
    events = reporter.events
    begin = _seconds(next(e for e in events if e["type"] == "training.started")["timestamp"])
    points = [
        (_seconds(e["timestamp"]) - begin, e["step"], out / "checkpoints" / f"step-{e['step']}")
        for e in events
        if e["type"] == "checkpoint.saved"
    ]
    done = events[-1]
    points.append((_seconds(done["timestamp"]) - begin, done["metrics"]["steps"], out / "final"))
    return points


def train_trl(
    config: Any, examples: list[dict], every: int, budget_s: float, out: Path, *, settle_s: float | None = None
) -> list[tuple[float, int, Path]]:
    """TRL `SFTTrainer` on the same rows and recipe, stopped at `settle_s` (default: the budget);
    (seconds, step, adapter). An adapter is also saved at the end of the equal budget."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import TrainerCallback
    from transformers.trainer_callback import PrinterCallback
    from trl import SFTConfig, SFTTrainer

    from arkor.engine.config import resolve_plan
    from arkor.engine.models import load_model, load_tokenizer
    from arkor.engine.train.setup import lora_placement

    plan = resolve_plan(config, device="cpu")
    total_steps = plan.total_steps(len(examples))
    stop_s = max(budget_s, settle_s or budget_s)
    points: list[tuple[float, int, Path]] = []

    class Budget(TrainerCallback):
        began = 0.0

        def on_train_begin(self, *_a: Any, **_k: Any) -> None:
            self.began = time.perf_counter()

        def on_step_end(self, _args: Any, state: Any, control: Any, model: Any = None, **_k: Any) -> None:
            elapsed = time.perf_counter() - self.began
            out_of_time = elapsed >= stop_s
            # The adapter that ends the equal budget: the first one saved at or past it (as `run` reads it).
            at_budget = elapsed >= budget_s and not any(seconds >= budget_s for seconds, _, _ in points)
            if state.global_step % every == 0 or at_budget or out_of_time or state.global_step >= total_steps:
                folder = out / f"step-{state.global_step}"
                model.save_pretrained(str(folder))
                points.append((time.perf_counter() - self.began, state.global_step, folder))
            if out_of_time:
                control.should_training_stop = True

    model = load_model(plan.model_id, dtype=torch.float32)
    # SFTConfig defaults to bf16 and gradient checkpointing: 18x slower on a CPU without bf16 units.
    args = SFTConfig(
        output_dir=str(out / "hf"),
        max_steps=total_steps,
        per_device_train_batch_size=plan.batch_size,
        gradient_accumulation_steps=plan.gradient_accumulation_steps,
        learning_rate=plan.learning_rate,
        lr_scheduler_type=plan.lr_scheduler_type,
        warmup_steps=plan.warmup_steps,
        weight_decay=plan.weight_decay,
        max_grad_norm=1.0,
        optim="adamw_torch",
        seed=plan.seed,
        data_seed=plan.seed,
        bf16=False,
        fp16=False,
        gradient_checkpointing=False,
        use_cpu=True,
        logging_steps=10,
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        dataloader_num_workers=0,
        disable_tqdm=True,
        packing=False,
        max_length=plan.max_length,
        dataset_num_proc=None,
    )
    target_modules, layers = lora_placement(model, plan)  # the same adapter placement as arkor's
    lora = LoraConfig(
        r=plan.lora_r,
        lora_alpha=plan.lora_alpha,
        lora_dropout=plan.lora_dropout,
        bias="none",
        target_modules=target_modules,
        layers_to_transform=layers,
        task_type="CAUSAL_LM",
    )
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(examples),
        processing_class=load_tokenizer(plan.model_id),
        peft_config=lora,
        callbacks=[Budget()],
    )
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    return points


def score_points(
    template: str, model_id: str, points: list[tuple[float, int, Path]], eval_rows: int | None
) -> list[dict]:
    from arkor.engine.evaluate import evaluate_template

    scored = []
    for seconds, step, folder in points:
        report = evaluate_template(template, model_id, adapter_dir=folder, max_rows=eval_rows)
        scored.append(
            {"seconds": round(seconds, 1), "step": step, "exact": report.exact_fields, "fields": report.accuracy}
        )
    return scored


def first_at(scored: list[dict], target: float) -> float | None:
    return next((p["seconds"] for p in scored if p["exact"] >= target), None)


def crossing_at(scored: list[dict], target: float) -> float | None:
    """Seconds at which the line between the last adapter below `target` and the first at it
    crosses it (from 0 s at 0% before the first adapter); None when no adapter reaches it."""
    before = {"seconds": 0.0, "exact": 0.0}
    for point in scored:
        if point["exact"] >= target:
            rise = point["exact"] - before["exact"]
            share = (target - before["exact"]) / rise if rise > 0 else 1.0
            return before["seconds"] + share * (point["seconds"] - before["seconds"])
        before = point
    return None


def run(
    template: str,
    model_id: str,
    *,
    target: float,
    every: int,
    budget_s: float | None,
    eval_rows: int | None,
    settle: float = 3.0,
    overrides: dict[str, Any] | None = None,
    work_dir: Path | None = None,
) -> dict:
    from arkor.protocol import parse_duration

    work_dir = work_dir or Path(tempfile.mkdtemp(prefix="arkor-ttt-"))
    config = template_job_config(model_id, template, work_dir / "scaffold", **(overrides or {}))
    budget = budget_s or (parse_duration(config.max_time) if config.max_time else 180.0)
    examples = tokenized_train_set(model_id, template)
    print(f"[time-to-target] arkor, {budget:.0f}s budget ...", file=sys.stderr, flush=True)
    arkor_points = train_arkor(config, every, budget, work_dir / "arkor")
    print("[time-to-target] scoring arkor's adapters ...", file=sys.stderr, flush=True)
    arkor_scored = score_points(template, model_id, arkor_points, eval_rows)
    arkor_t = first_at(arkor_scored, target)
    trl_budget = max(budget, settle * arkor_t) if arkor_t else budget
    print(
        f"[time-to-target] TRL, {budget:.0f}s budget, on to {trl_budget:.0f}s if the target is not reached ...",
        file=sys.stderr,
        flush=True,
    )
    trl_points = train_trl(config, examples, every, budget, work_dir / "trl", settle_s=trl_budget)
    print("[time-to-target] scoring TRL's adapters ...", file=sys.stderr, flush=True)
    trl_scored = score_points(template, model_id, trl_points, eval_rows)
    # The first adapter saved once the equal budget is spent ends TRL's equal-time run (its step ends
    # just after the budget); the ones after it come from the extra time.
    at_budget = next((i for i, p in enumerate(trl_scored) if p["seconds"] >= budget), len(trl_scored))
    for i, point in enumerate(trl_scored):
        point["past_budget"] = i > at_budget
    trl_t = first_at(trl_scored, target)
    arkor_x, trl_x = crossing_at(arkor_scored, target), crossing_at(trl_scored, target)
    trl_trained = max((p["seconds"] for p in trl_scored), default=0.0)
    return {
        "template": template,
        "model": model_id,
        "target": target,
        "budget_s": budget,
        "trl_budget_s": trl_budget,
        "settle": settle,
        "every": every,
        "arkor": arkor_scored,
        "trl": trl_scored,
        "arkor_seconds_to_target": arkor_t,
        "trl_seconds_to_target": trl_t,
        "arkor_crossing_s": arkor_x,
        "trl_crossing_s": trl_x,
        "speedup": (trl_t / arkor_t) if arkor_t and trl_t else None,
        "speedup_crossing": (trl_x / arkor_x) if arkor_x and trl_x else None,
        # TRL never got there: it trained this long without reaching the target, so arkor was at
        # least this many times sooner.
        "speedup_at_least": (trl_trained / arkor_t) if arkor_t and not trl_t and trl_scored else None,
    }


def print_report(result: dict) -> None:
    print(
        f"\n{result['template']}: time to {result['target']:.0%} exact fields, {result['model']}, "
        f"{result['budget_s']:.0f}s budget each (TRL on to {result['trl_budget_s']:.0f}s if short of the "
        f"target), adapters every {result['every']} steps"
    )
    rows = [
        [name, p["step"], p["seconds"], f"{100 * p['exact']:.1f}%", "past the budget" if p.get("past_budget") else ""]
        for name in ("arkor", "trl")
        for p in result[name]
    ]
    print_table(["trainer", "step", "training s", "exact fields", ""], rows)

    def fmt(value: float | None) -> str:
        return "not reached" if value is None else f"{value:.0f}s"

    if result["speedup"]:
        speed = f"{result['speedup']:.2f}x sooner"
    elif result.get("speedup_at_least"):
        speed = f"at least {result['speedup_at_least']:.2f}x sooner (TRL did not reach it)"
    else:
        speed = "n/a"
    print(
        f"first adapter at the target: arkor {fmt(result['arkor_seconds_to_target'])}, TRL {fmt(result['trl_seconds_to_target'])}: {speed}"
    )
    if result.get("speedup_crossing"):
        print(
            f"where the accuracy line crosses it: arkor {fmt(result['arkor_crossing_s'])}, "
            f"TRL {fmt(result['trl_crossing_s'])}: {result['speedup_crossing']:.2f}x sooner"
        )
    print_goals(time_to_target_goals(result))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default="triage")
    parser.add_argument("--model", default=None)
    parser.add_argument("--target", type=float, default=0.9)
    parser.add_argument("--every", type=int, default=20, help="save (and later score) an adapter every N steps")
    parser.add_argument("--budget", type=float, default=None, help="seconds (default: the template's max_time)")
    parser.add_argument(
        "--settle",
        type=float,
        default=3.0,
        help="TRL trains on past the budget, to this many times arkor's time to target, if still short of it",
    )
    parser.add_argument("--eval-rows", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="tiny model, 4 steps, 2 rows (checks the plumbing)")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)

    from arkor.engine.models import DEFAULT_MODEL, TINY_TEST_MODEL

    model = args.model or (TINY_TEST_MODEL if args.quick else DEFAULT_MODEL)
    overrides = {"numTrainEpochs": None, "maxSteps": 4} if args.quick else {}
    result = run(
        args.template,
        model,
        target=args.target,
        every=2 if args.quick else args.every,
        budget_s=args.budget or (600.0 if args.quick else None),
        eval_rows=2 if args.quick else args.eval_rows,
        settle=args.settle,
        overrides=overrides,
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str))
    print_report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

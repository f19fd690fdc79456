"""Training throughput: arkor's engine vs TRL `SFTTrainer` vs transformers `Trainer` + peft.

All three train the same model on the same examples (the triage template's train set, rendered and
tokenized once by `arkor.engine.data`: identical input_ids and labels, loss on assistant tokens
only), with the same LoRA (r, alpha, targets), batch size, learning rate, linear schedule, grad
clipping and seed, for the same number of optimizer steps. Precision is each trainer's own best on
this CPU: arkor trains in the dtype its engine picks (bf16 base weights where the CPU has bf16
matmul units, else fp32); each baseline runs in fp32 and, on such a CPU, again with `bf16=True`
(autocast), and the ratios are taken against its faster run. Each run is its own subprocess, so its
peak RSS is its own; each also measures the matmul peak of its dtype right before training, so
utilisation is judged against what the machine gave at that time. After training, every adapter is
scored the same way on the triage template's held-out `eval.jsonl` (mean loss per answer token, fp32
base): the last step's loss is one batch's and the trainers draw different batches.

Per run: wall time of the steps (model load and adapter saving excluded), tokens/s over all
non-pad tokens and over loss-bearing tokens, peak RSS, final loss, and model FLOPs utilisation
(`_common.lora_model_flops` / wall / matmul peak). What differs by design: arkor groups rows of
similar length into a batch (less padding) and runs the LM head only on labelled positions; the
two baselines sample batches at random and pad to the longest row, as they do by default.

With `--rounds N` every trainer runs N times, round-robin (a slow spell of a shared machine then
hits every trainer, not one), and each table row is the run with the median tokens/s; the ratios
are taken between medians and the spread of the rounds is shown beside them.

`--trainers ...,arkor-compiled` adds the opt-in `torchCompile=True` run. Its row leaves out the first
step (building or loading the kernels, shown beside it), so it is the compiled steady state, not a
whole run; goal 4 is judged on the default `arkor` row.

    python benchmarks/train_throughput.py [--model ID] [--steps 20] [--rounds 3] [--precisions auto] [--quick] [--json [PATH]]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    count_tokens,
    heldout_loss,
    job_config,
    lora_model_flops,
    matmul_params,
    measure_matmul_peak,
    peak_rss_mb,
    print_table,
    tokenized_eval_set,
    tokenized_train_set,
)
from goals import print_goals, throughput_goals  # noqa: E402

TEMPLATE = "triage"
TRAINERS = ("arkor", "trl", "transformers", "arkor-compiled")  # the last only when named in --trainers
QKVO = ["q_proj", "k_proj", "v_proj", "o_proj"]


# ----- the three trainers: each trains spec["steps"] steps and returns its own measurements ---------------


def train_arkor(spec: dict, examples: list[dict], *, torch_compile: bool = False) -> dict:
    """arkor's engine (`run_training`, the worker's code path) with events timed as they are emitted.
    With `torch_compile` (the opt-in `torchCompile=True`) the first step, which builds or loads the
    kernels, is timed apart and left out of the wall time and the token counts: that row is the
    compiled steady state, not a whole run."""
    import threading

    from arkor.engine.config import resolve_plan
    from arkor.engine.data import TokenizedExample
    from arkor.engine.reporting import FolderReporter
    from arkor.engine.train import run_training
    from arkor.engine.train.run import _batches_forever
    from arkor.protocol import TrainingLog, TrainingStarted

    class TimedReporter(FolderReporter):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            self.timed: list[tuple[float, Any]] = []

        def emit(self, event: Any) -> dict:
            self.timed.append((time.perf_counter(), event))
            return super().emit(event)

    config = job_config(
        spec["model"],
        TEMPLATE,
        maxSteps=spec["steps"],
        batchSize=spec["batch_size"],
        learningRate=spec["lr"],
        seed=spec["seed"],
        loraR=spec["lora_r"],
        loraAlpha=spec["lora_alpha"],
        loggingSteps=1,
        targetModules=None if spec["targets"] == "all-linear" else spec["targets"],
        torchCompile=torch_compile or None,
    )
    reporter = TimedReporter("bench-arkor", Path(spec["work_dir"]) / "arkor")
    outcome = run_training("bench-arkor", config, reporter.output_dir, reporter, stop_requested=threading.Event())
    if outcome != "completed":
        raise RuntimeError(f"arkor run failed: {reporter.events[-1]}")
    started, start_event = next((t, e) for t, e in reporter.timed if isinstance(e, TrainingStarted))
    if start_event.metadata.dataset_rows != len(examples):
        raise RuntimeError("arkor's engine tokenized a different train set than the one the baselines get")
    logs = [(t, e) for t, e in reporter.timed if isinstance(e, TrainingLog)]
    ended, last = logs[-1]
    spec["_adapter_dir"] = str(reporter.output_dir / "final")
    skipped = 0
    if torch_compile:
        status = reporter.events[-1].get("metrics", {}).get("torchCompile")
        if status != "compiled":
            raise RuntimeError(f"torch_compile did not compile: {status}")
        first_step_s = logs[0][0] - started
        started, skipped = logs[0][0], 1  # time from the end of step 1

    # The engine's batches are a pure function of (examples, batch size, seed, epoch): replay them to count.
    plan = resolve_plan(config, device="cpu")
    batches = _batches_forever([TokenizedExample(e["input_ids"], e["labels"]) for e in examples], plan, pad_id=0)
    tokens = loss_tokens = 0
    for step in range(spec["steps"]):
        _, batch = next(batches)
        if step < skipped:
            continue
        t, lt = count_tokens(batch["attention_mask"], batch["labels"])
        tokens, loss_tokens = tokens + t, loss_tokens + lt
    return {
        "wall_s": ended - started,
        "tokens": tokens,
        "loss_tokens": loss_tokens,
        "final_loss": last.loss,
        "steps": last.step - skipped,
        "dtype": start_event.metadata.dtype,
        **({"first_step_s": first_step_s} if torch_compile else {}),
    }


def _hf_training_args(spec: dict, args_class: Callable, **extra: Any) -> Any:
    return args_class(
        output_dir=str(Path(spec["work_dir"]) / "hf"),
        max_steps=spec["steps"],
        per_device_train_batch_size=spec["batch_size"],
        gradient_accumulation_steps=1,
        learning_rate=spec["lr"],
        lr_scheduler_type="linear",
        warmup_steps=0,
        weight_decay=0.0,
        max_grad_norm=1.0,
        optim="adamw_torch",
        seed=spec["seed"],
        data_seed=spec["seed"],
        bf16=spec["dtype"] == "bfloat16",
        fp16=False,
        gradient_checkpointing=False,
        use_cpu=True,
        logging_steps=1,
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        dataloader_num_workers=0,
        disable_tqdm=True,
        **extra,
    )


def _run_hf_trainer(trainer_class: type, spec: dict, **kwargs: Any) -> dict:
    """Train with a (subclass of) transformers `Trainer`, counting the tokens of every micro-batch
    it trains on and timing from the start of training to the end of the last step."""
    from transformers import TrainerCallback
    from transformers.trainer_callback import PrinterCallback

    class Clock(TrainerCallback):
        began = ended = 0.0
        losses: list[float] = []

        def on_train_begin(self, *_args: Any, **_kw: Any) -> None:
            self.began = time.perf_counter()

        def on_step_end(self, *_args: Any, **_kw: Any) -> None:
            self.ended = time.perf_counter()

        def on_log(self, _args: Any, _state: Any, _control: Any, logs: dict | None = None, **_kw: Any) -> None:
            if logs and "loss" in logs:
                self.losses.append(float(logs["loss"]))

    class Counting(trainer_class):
        tokens = loss_tokens = 0

        def training_step(self, model: Any, inputs: dict, num_items_in_batch: Any = None) -> Any:
            t, lt = count_tokens(inputs["attention_mask"], inputs["labels"])
            self.tokens, self.loss_tokens = self.tokens + t, self.loss_tokens + lt
            return super().training_step(model, inputs, num_items_in_batch)

    clock = Clock()
    trainer = Counting(callbacks=[clock], **kwargs)
    trainer.remove_callback(PrinterCallback)  # it prints every log dict; the report is the output
    trainer.train()
    adapter_dir = Path(spec["work_dir"]) / f"adapter-{trainer_class.__name__}-{spec['dtype']}"
    trainer.model.save_pretrained(str(adapter_dir))
    spec["_adapter_dir"] = str(adapter_dir)
    return {
        "wall_s": clock.ended - clock.began,
        "tokens": trainer.tokens,
        "loss_tokens": trainer.loss_tokens,
        "final_loss": clock.losses[-1] if clock.losses else None,
        "steps": trainer.state.global_step,
        "dtype": spec["dtype"],
    }


def _lora_config(spec: dict) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        r=spec["lora_r"],
        lora_alpha=spec["lora_alpha"],
        lora_dropout=0.0,
        bias="none",
        target_modules=spec["targets"],
        task_type="CAUSAL_LM",
    )


def train_trl(spec: dict, examples: list[dict]) -> dict:
    """TRL `SFTTrainer`, given the pre-tokenized rows: a dataset with `input_ids` and `labels`
    columns is taken as processed and its labels used as they are (TRL 1.16)."""
    import torch
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from arkor.engine.models import load_model, load_tokenizer

    tokenizer = load_tokenizer(spec["model"])
    model = load_model(spec["model"], dtype=torch.float32)
    # SFTConfig defaults to bf16 and gradient checkpointing; both are set explicitly (bf16 only where
    # the CPU has bf16 units: emulated bf16 is many times slower than fp32).
    args = _hf_training_args(spec, SFTConfig, packing=False, max_length=1024, dataset_num_proc=None)
    return _run_hf_trainer(
        SFTTrainer,
        spec,
        model=model,
        args=args,
        train_dataset=Dataset.from_list(examples),
        processing_class=tokenizer,
        peft_config=_lora_config(spec),
    )


def train_transformers(spec: dict, examples: list[dict]) -> dict:
    """transformers `Trainer` on a peft-wrapped model; the collator right-pads and pads labels with -100."""
    import torch
    from datasets import Dataset
    from peft import get_peft_model
    from transformers import DataCollatorForSeq2Seq, Trainer, TrainingArguments

    from arkor.engine.models import load_model, load_tokenizer

    tokenizer = load_tokenizer(spec["model"])
    tokenizer.padding_side = "right"
    torch.manual_seed(spec["seed"])
    model = get_peft_model(load_model(spec["model"], dtype=torch.float32), _lora_config(spec))
    model.config.use_cache = False
    collator = DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100)
    return _run_hf_trainer(
        Trainer,
        spec,
        model=model,
        args=_hf_training_args(spec, TrainingArguments),
        train_dataset=Dataset.from_list(examples),
        data_collator=collator,
    )


RUNNERS: dict[str, Callable[[dict, list[dict]], dict]] = {
    "arkor": train_arkor,
    "trl": train_trl,
    "transformers": train_transformers,
    "arkor-compiled": lambda spec, examples: train_arkor(spec, examples, torch_compile=True),
}


def run_one(trainer: str, spec: dict, examples: list[dict], eval_examples: list[dict] | None = None) -> dict:
    """One run's measurements (call in a fresh process for a meaningful peak RSS). `spec["dtype"]`
    is the baselines' precision; arkor's engine picks its own (`auto`) unless told (`ARKOR_CPU_DTYPE`)."""
    import os

    import torch

    torch.set_num_threads(spec["threads"])
    if trainer.startswith("arkor") and spec["dtype"] != "auto":
        os.environ["ARKOR_CPU_DTYPE"] = spec["dtype"]
    result = RUNNERS[trainer](spec, examples)
    peak_gflops = measure_matmul_peak(spec["peak_seconds"], dtype=result["dtype"])
    flops = lora_model_flops(spec["body_params"], spec["head_params"], result["tokens"], result["loss_tokens"])
    wall = max(result["wall_s"], 1e-9)
    eval_loss = heldout_loss(spec["model"], Path(spec["_adapter_dir"]), eval_examples) if eval_examples else None
    return {
        "trainer": trainer,
        "run": f"{trainer} ({'bf16' if result['dtype'] == 'bfloat16' else 'fp32'})"
        + (
            f", steps 2-{result['steps'] + 1} (first step {result['first_step_s']:.1f} s)"
            if "first_step_s" in result
            else ""
        ),
        **result,
        "eval_loss": eval_loss,
        "tokens_per_s": result["tokens"] / wall,
        "loss_tokens_per_s": result["loss_tokens"] / wall,
        "s_per_step": wall / max(result["steps"], 1),
        "peak_rss_mb": peak_rss_mb(),
        "matmul_peak_gflops": peak_gflops,
        "achieved_gflops": flops / wall / 1e9,
        "mfu": flops / wall / (peak_gflops * 1e9),
    }


def default_runs(precisions: str = "auto") -> list[tuple[str, str]]:
    """(trainer, dtype) pairs: arkor in its engine's own choice; each baseline in fp32 and, where
    the CPU has bf16 units (or `precisions` says "both"), in bf16 too. "fp32" runs everything in fp32."""
    from arkor.engine.config import cpu_training_dtype

    if precisions == "fp32":
        return [("arkor", "float32"), ("trl", "float32"), ("transformers", "float32")]
    both = precisions == "both" or cpu_training_dtype() == "bfloat16"
    dtypes = ["float32", "bfloat16"] if both else ["float32"]
    baselines = [(name, dtype) for name in ("trl", "transformers") for dtype in dtypes]
    return [("arkor", "auto")] + baselines + [("arkor-compiled", "auto")]


def count_model_params(model_id: str) -> tuple[int, int]:
    """(body, head) matmul weights of `model_id`, counted on the meta device (no weights loaded)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from arkor.engine.models import resolve_model_path

    config = AutoConfig.from_pretrained(resolve_model_path(model_id, progress=False))
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    return matmul_params(model)


def run_benchmark(spec: dict, runs: list[tuple[str, str]] | None = None, *, in_process: bool = False) -> dict:
    """Tokenize once, do each (trainer, dtype) run (in its own subprocess unless `in_process`), score
    every adapter on the held-out set, and add ratios to each baseline's faster run."""
    import torch

    runs = runs or default_runs()
    spec = {"threads": torch.get_num_threads(), "peak_seconds": 2.0, **spec}
    spec["body_params"], spec["head_params"] = count_model_params(spec["model"])
    examples = tokenized_train_set(spec["model"], TEMPLATE)
    eval_examples = tokenized_eval_set(spec["model"], TEMPLATE, rows=spec.get("eval_rows"))
    work = Path(spec.setdefault("work_dir", tempfile.mkdtemp(prefix="arkor-bench-")))
    (work / "examples.json").write_text(json.dumps(examples))
    (work / "eval_examples.json").write_text(json.dumps(eval_examples))
    rounds = max(1, int(spec.setdefault("rounds", 1)))
    trials: dict[tuple[str, str], list[dict]] = {run: [] for run in runs}
    for round_number in range(1, rounds + 1):  # round-robin, so a slow spell of the machine hits every trainer
        for name, dtype in runs:
            run_spec = {**spec, "dtype": dtype}
            print(
                f"[bench] round {round_number}/{rounds}: training with {name} ({dtype}) for {spec['steps']} steps ...",
                file=sys.stderr,
                flush=True,
            )
            if in_process:
                trials[(name, dtype)].append(run_one(name, run_spec, examples, eval_examples))
                continue
            (work / "spec.json").write_text(json.dumps(run_spec))
            out = work / f"result-{name}-{dtype}-{round_number}.json"
            subprocess.run(
                [sys.executable, __file__, "--child", name, "--work-dir", str(work), "--child-out", str(out)],
                check=True,
            )
            trials[(name, dtype)].append(json.loads(out.read_text()))
    results = [median_trial(trials[run]) for run in runs]
    for baseline in ("trl", "transformers"):
        candidates = [r for r in results if r["trainer"] == baseline]
        if not candidates:
            continue
        best = max(candidates, key=lambda r: r["tokens_per_s"])
        for r in results:
            r[f"tokens_per_s_vs_{baseline}"] = r["tokens_per_s"] / best["tokens_per_s"]
            r[f"loss_tokens_per_s_vs_{baseline}"] = r["loss_tokens_per_s"] / best["loss_tokens_per_s"]
            if r.get("eval_loss") is not None and best.get("eval_loss"):
                r[f"eval_loss_vs_{baseline}"] = r["eval_loss"] / best["eval_loss"]
    spec.pop("work_dir", None)
    return {
        "spec": spec,
        "template": TEMPLATE,
        "train_rows": len(examples),
        "eval_rows": len(eval_examples),
        "results": results,
    }


def median_trial(trials: list[dict]) -> dict:
    """The trial with the median tokens/s (the lower middle one for an even count), with every
    trial's tokens/s attached, so a table row is one real run and shows how far the rounds spread."""
    ordered = sorted(trials, key=lambda t: t["tokens_per_s"])
    return {**ordered[(len(ordered) - 1) // 2], "tokens_per_s_rounds": [t["tokens_per_s"] for t in trials]}


def print_report(report: dict) -> None:
    spec = report["spec"]
    print(
        f"\nLoRA training throughput: {spec['model']}, {report['template']} train set ({report['train_rows']} rows), "
        f"{spec['steps']} steps x batch {spec['batch_size']}, lr {spec['lr']}, LoRA r{spec['lora_r']}/"
        f"alpha{spec['lora_alpha']} {spec['targets']}, {spec['threads']} threads; eval loss on {report['eval_rows']} held-out rows"
        + (f"; each row the median of {spec['rounds']} rounds" if spec.get("rounds", 1) > 1 else "")
    )

    def ratio(r: dict, key: str) -> str | None:
        return f"{r[key]:.2f}x" if key in r else None

    headers = [
        "run",
        "wall s",
        "s/step",
        "tokens/s",
        "rounds tok/s",
        "loss tok/s",
        "vs TRL",
        "vs Trainer",
        "peak RSS MiB",
        "final loss",
        "eval loss",
        "eval vs TRL",
        "GFLOP/s",
        "matmul peak",
        "MFU",
    ]
    rows = [
        [
            r["run"],
            r["wall_s"],
            r["s_per_step"],
            r["tokens_per_s"],
            f"{min(values):.0f}-{max(values):.0f}" if len(values := r.get("tokens_per_s_rounds", [])) > 1 else None,
            r["loss_tokens_per_s"],
            ratio(r, "tokens_per_s_vs_trl"),
            ratio(r, "tokens_per_s_vs_transformers"),
            r["peak_rss_mb"],
            r["final_loss"],
            r.get("eval_loss"),
            ratio(r, "eval_loss_vs_trl"),
            r["achieved_gflops"],
            r["matmul_peak_gflops"],
            f"{100 * r['mfu']:.1f}%",
        ]
        for r in report["results"]
    ]
    print_table(headers, rows)
    print(
        f"MFU = 4*(N_body*tokens + N_head*loss_tokens) / wall / matmul peak of the run's dtype; N_body={spec['body_params']:,}, "
        f"N_head={spec['head_params']:,} (frozen base: forward 2N + backward-to-activations 2N). Ratios are to each "
        "baseline's faster precision."
    )
    print_goals(throughput_goals(report))


def _quiet_libraries() -> None:
    """Progress bars and deprecation chatter from the libraries would bury the report."""
    import logging
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    logging.getLogger("transformers").setLevel(logging.ERROR)
    from datasets.utils.logging import disable_progress_bar
    from transformers.utils import logging as hf_logging

    disable_progress_bar()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model id (default: arkor's default model)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--lora-r", type=int, default=16)
    parser.add_argument("--targets", choices=("all-linear", "qkvo"), default="all-linear")
    parser.add_argument(
        "--trainers",
        default=None,
        help="comma-separated subset of " + ",".join(TRAINERS) + " (default: all but arkor-compiled)",
    )
    parser.add_argument(
        "--precisions",
        choices=("auto", "fp32", "both"),
        default="auto",
        help="auto: baselines in fp32, plus bf16 where the CPU has bf16 units; fp32: all fp32; both: always both",
    )
    parser.add_argument("--eval-rows", type=int, default=60, help="held-out rows the adapters are scored on (0: none)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads per run (default: torch's default)")
    parser.add_argument(
        "--rounds", type=int, default=1, help="run every trainer this many times, round-robin; report each one's median"
    )
    parser.add_argument("--quick", action="store_true", help="the tiny test model for 3 steps (checks the plumbing)")
    parser.add_argument("--json", nargs="?", const="-", metavar="PATH", help="write JSON results (stdout if no PATH)")
    parser.add_argument("--child", choices=TRAINERS, help=argparse.SUPPRESS)
    parser.add_argument("--work-dir", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:  # one trainer in a fresh process, spec and data from the parent
        _quiet_libraries()
        work = Path(args.work_dir)
        spec, examples = json.loads((work / "spec.json").read_text()), json.loads((work / "examples.json").read_text())
        eval_examples = json.loads((work / "eval_examples.json").read_text())
        Path(args.child_out).write_text(json.dumps(run_one(args.child, spec, examples, eval_examples)))
        return 0

    from arkor.engine.models import DEFAULT_MODEL, TINY_TEST_MODEL

    model = args.model or (TINY_TEST_MODEL if args.quick else DEFAULT_MODEL)
    spec = {
        "model": model,
        "steps": 3 if args.quick and args.steps == 20 else args.steps,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "seed": args.seed,
        "lora_r": args.lora_r,
        "lora_alpha": args.lora_r,
        **({"threads": args.threads} if args.threads else {}),
        "targets": "all-linear" if args.targets == "all-linear" else QKVO,
        "rounds": args.rounds,
    }
    spec["eval_rows"] = args.eval_rows
    wanted = {t for t in args.trainers.split(",") if t} if args.trainers else set(TRAINERS) - {"arkor-compiled"}
    report = run_benchmark(spec, [run for run in default_runs(args.precisions) if run[0] in wanted])
    if args.json:
        text = json.dumps(report, indent=2)
        print(text) if args.json == "-" else Path(args.json).write_text(text)
    if args.json != "-":
        print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())

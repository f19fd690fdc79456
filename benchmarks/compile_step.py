"""`torch.compile` on the training step: the engine's LoRA step with the decoder eager, then compiled.

Each mode loads a fresh model with the template's LoRA, then trains the same length-grouped batches
of the triage data with the engine's own step (`engine.train.step.train_step`: its autocast dtype,
labelled-positions-only loss, gradient clipping and AdamW update). Modes: `eager`; `compile`, the
whole decoder compiled by inductor; `compile-layers`, each decoder layer compiled (one graph that
every layer reuses, so there is less to build): the engine's own `torch_compile=True` path
(`engine.train.compiled`), with the compiled layers in place for the training step only. Both
compile with `dynamic=True`, since length-grouped batches change the sequence length from step to
step. Reported per mode: the first step's seconds (for the compiled modes that includes building
the kernels, paid again by every run, less when inductor's on-disk cache already holds them), the
mean of the steps after the first `--warmup`, and that mean as a ratio to eager.

    python benchmarks/compile_step.py [--steps 25] [--warmup 5] [--modes eager,compile,compile-layers] [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import job_config, print_table, tokenized_train_set  # noqa: E402

MODES = ("eager", "compile", "compile-layers")


def time_steps(model_id: str, mode: str, steps: int) -> list[float]:
    """Seconds of each of `steps` training steps of the engine's step with the decoder in `mode`."""
    import torch

    from arkor.engine.config import resolve_plan
    from arkor.engine.data import TokenizedExample
    from arkor.engine.train.compiled import CompiledLayers, run_step
    from arkor.engine.train.run import _batches_forever
    from arkor.engine.train.setup import build_optimizer, load_lora_model
    from arkor.engine.train.step import train_step

    plan = resolve_plan(job_config(model_id, "triage", maxSteps=steps, batchSize=4), device="cpu")
    examples = [TokenizedExample(e["input_ids"], e["labels"]) for e in tokenized_train_set(model_id, "triage")]
    torch.manual_seed(plan.seed)
    model = load_lora_model(plan)
    model.train()
    optimizer = build_optimizer(model, plan)
    base: Any = model.get_base_model()
    decoder = getattr(base, base.base_model_prefix)
    if mode == "compile":  # swap the decoder for its compiled wrapper, so the engine's loss calls it
        setattr(base, base.base_model_prefix, torch.compile(decoder, dynamic=True))
    layers = CompiledLayers(model) if mode == "compile-layers" else None  # what `torch_compile=True` runs
    batches = _batches_forever(examples, plan, pad_id=0)
    seconds = []
    for _ in range(steps):
        began = time.perf_counter()
        _, batch = next(batches)
        run_step(layers, optimizer, lambda batch=batch: train_step(model, optimizer, [batch], plan))
        seconds.append(time.perf_counter() - began)
    if layers is not None and not layers.enabled:
        raise SystemExit(f"compile-layers: {layers.status()}")
    return seconds


def run(model_id: str, *, steps: int, warmup: int, modes: tuple[str, ...]) -> list[dict]:
    results = []
    for mode in modes:
        print(f"[compile-step] {mode}, {steps} steps ...", file=sys.stderr, flush=True)
        seconds = time_steps(model_id, mode, steps)
        steady = seconds[warmup:] or seconds[-1:]
        results.append({"mode": mode, "first_step_s": seconds[0], "steady_step_s": sum(steady) / len(steady)})
    eager = next((r["steady_step_s"] for r in results if r["mode"] == "eager"), None)
    for result in results:
        result["speed_vs_eager"] = eager / result["steady_step_s"] if eager else None
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--warmup", type=int, default=5, help="steps left out of the steady mean")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated subset of " + ",".join(MODES))
    parser.add_argument("--quick", action="store_true", help="the tiny test model, 3 steps")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    modes = tuple(m for m in args.modes.split(",") if m)
    if unknown := [m for m in modes if m not in MODES]:
        parser.error(f"--modes: unknown {', '.join(unknown)}; choose from {', '.join(MODES)}")

    from arkor.engine.models import DEFAULT_MODEL, TINY_TEST_MODEL

    model = args.model or (TINY_TEST_MODEL if args.quick else DEFAULT_MODEL)
    steps, warmup = (3, 1) if args.quick else (args.steps, args.warmup)
    results = run(model, steps=steps, warmup=warmup, modes=modes)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    print(f"\nTraining step, {model}, triage batches of 4, mean of steps {warmup + 1}-{steps}")
    rows = [
        [r["mode"], f"{r['first_step_s']:.1f}", f"{r['steady_step_s']:.3f}", f"{r['speed_vs_eager']:.2f}x"]
        for r in results
    ]
    print_table(["decoder", "first step s", "later steps s", "speed vs eager"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Streaming inference latency: arkor's InferenceEngine vs plain transformers `model.generate`.

Same model (default SmolLM2-135M-Instruct), same chat prompt, greedy, up to 64 new tokens. Reports
first-token latency (request start -> first generated token available) and decode tokens/s for
each, the ratios, and whether both produced the same tokens (they should: both are greedy).

Run: .venv/bin/python benchmarks/inference_latency.py [--model ID] [--tokens 64] [--repeats 3] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time


def bench_arkor(engine, request, model_id: str) -> dict:
    cpu_start = time.process_time()
    start = time.perf_counter()
    first = None
    text = []
    usage = None
    for chunk in engine.stream(request, model_id=model_id):
        delta = chunk.choices[0].delta.content
        if delta and first is None:
            first = time.perf_counter() - start
        if delta:
            text.append(delta)
        usage = chunk.usage or usage
    total = time.perf_counter() - start
    return {
        "first": first,
        "total": total,
        "cpu": time.process_time() - cpu_start,
        "tokens": usage.completion_tokens,
        "text": "".join(text),
    }


def bench_transformers(model, tokenizer, prompt_ids, max_new_tokens: int, stop_ids: list[int]) -> dict:
    import torch
    from transformers.generation.streamers import BaseStreamer

    class FirstTokenClock(BaseStreamer):
        def __init__(self) -> None:
            self.calls = 0
            self.first = None

        def put(self, value) -> None:
            self.calls += 1
            if self.calls == 2:  # the first put is the prompt, the second the first new token
                self.first = time.perf_counter()

        def end(self) -> None:
            pass

    clock = FirstTokenClock()
    input_ids = torch.tensor([prompt_ids])
    cpu_start = time.process_time()
    start = time.perf_counter()
    with torch.inference_mode():
        output = model.generate(
            input_ids,
            attention_mask=torch.ones_like(input_ids),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            eos_token_id=stop_ids,
            pad_token_id=tokenizer.pad_token_id,
            streamer=clock,
        )
    total = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    new_ids = output[0, len(prompt_ids) :].tolist()
    text = tokenizer.decode([i for i in new_ids if i not in stop_ids], skip_special_tokens=True)
    return {"first": clock.first - start, "total": total, "cpu": cpu, "tokens": len(new_ids), "text": text}


def summarise(runs: list[dict]) -> dict:
    first = statistics.median(r["first"] for r in runs)
    # Decode rate after the first token, so prompt processing does not blur the per-token speed.
    decode = statistics.median((r["tokens"] - 1) / (r["total"] - r["first"]) for r in runs)
    overall = statistics.median(r["tokens"] / r["total"] for r in runs)
    # Tokens per CPU-second of this process: robust to other processes competing for the cores.
    per_cpu = statistics.median(r["tokens"] / r["cpu"] for r in runs)
    return {
        "first_token_s": first,
        "decode_tok_s": decode,
        "overall_tok_s": overall,
        "cpu_tok_s": per_cpu,
        "tokens": runs[-1]["tokens"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="HuggingFaceTB/SmolLM2-135M-Instruct")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch intra-op threads (1 avoids spin-wait stalls on a busy shared CPU)",
    )
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from arkor.engine.infer import InferenceEngine
    from arkor.engine.infer.request import build_prompt_ids
    from arkor.protocol.inference import InferenceChatRequest

    question = "Write a short story about a lighthouse keeper who finds a message in a bottle."
    request = InferenceChatRequest(
        messages=[{"role": "user", "content": question}], temperature=0, max_tokens=args.tokens
    )
    engine = InferenceEngine()
    print(f"model {args.model}, {args.tokens} new tokens, greedy, torch threads {torch.get_num_threads()}")
    t0 = time.perf_counter()
    engine.complete(request.model_copy(update={"max_tokens": 2}), model_id=args.model)  # load + warm up
    print(f"load + warm-up: {time.perf_counter() - t0:.1f} s")
    base = engine._base(args.model)  # the very same model object, so both paths share the weights
    prompt_ids = build_prompt_ids(base.tokenizer, [{"role": "user", "content": question}])
    stop_ids = sorted(base.stop_ids)
    bench_transformers(base.model, base.tokenizer, prompt_ids, 2, stop_ids)  # warm up generate too

    ours, theirs = [], []
    for _ in range(args.repeats):  # interleaved, so background load hits both alike
        ours.append(bench_arkor(engine, request, args.model))
        theirs.append(bench_transformers(base.model, base.tokenizer, prompt_ids, args.tokens, stop_ids))
    a, t = summarise(ours), summarise(theirs)
    print(f"prompt tokens: {len(prompt_ids)}, repeats: {args.repeats} (medians)")
    print(f"{'':26}{'first token (s)':>16}{'decode tok/s':>14}{'overall tok/s':>15}{'tok/CPU-s':>11}{'tokens':>8}")
    for name, s in (("arkor InferenceEngine", a), ("transformers generate", t)):
        print(
            f"{name:26}{s['first_token_s']:>16.3f}{s['decode_tok_s']:>14.1f}{s['overall_tok_s']:>15.1f}"
            f"{s['cpu_tok_s']:>11.1f}{s['tokens']:>8}"
        )
    print(
        f"ratio arkor/transformers: decode tok/s {a['decode_tok_s'] / t['decode_tok_s']:.2f}x, "
        f"overall tok/s {a['overall_tok_s'] / t['overall_tok_s']:.2f}x, "
        f"tokens per CPU-second {a['cpu_tok_s'] / t['cpu_tok_s']:.2f}x, "
        f"first-token latency {a['first_token_s'] / t['first_token_s']:.2f}x (lower is better)"
    )
    same = ours[-1]["text"] == theirs[-1]["text"]
    print(f"identical greedy text: {same}")
    if not same:
        print(f"  arkor:        {ours[-1]['text'][:120]!r}\n  transformers: {theirs[-1]['text'][:120]!r}")


if __name__ == "__main__":
    main()

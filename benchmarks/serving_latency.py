"""Streaming through a deployment (`/d/<slug>/v1/chat/completions`, the real `openai` client over HTTP)
vs plain transformers `model.generate` on the same model and prompt: first-token latency and decode
tokens/s, greedy, up to N new tokens. The deployment path adds HTTP, SSE framing, key-less auth and the
engine's per-token loop; this measures what all that costs.

Run: .venv/bin/python benchmarks/serving_latency.py [--model ID] [--tokens 64] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROMPT = [{"role": "user", "content": "Write a short note thanking a colleague for their help with a report."}]


def bench_deployment(client, max_tokens: int) -> dict:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    first = None
    tokens = 0
    for chunk in client.chat.completions.create(
        model="x", messages=PROMPT, max_tokens=max_tokens, temperature=0, stream=True
    ):
        if chunk.choices and chunk.choices[0].delta.content and first is None:
            first = time.perf_counter() - start
        if chunk.usage is not None:
            tokens = chunk.usage.completion_tokens
    return {"first": first, "total": time.perf_counter() - start, "tokens": tokens}


def bench_transformers(model, prompt_ids, max_tokens: int, stop_ids: list[int]) -> dict:  # type: ignore[no-untyped-def]
    import torch
    from transformers.generation.streamers import BaseStreamer

    class Clock(BaseStreamer):
        def __init__(self) -> None:
            self.calls, self.first = 0, None

        def put(self, value) -> None:  # type: ignore[no-untyped-def]
            self.calls += 1
            if self.calls == 2 and self.first is None:  # the first call is the prompt
                self.first = time.perf_counter() - start

        def end(self) -> None:
            pass

    clock = Clock()
    start = time.perf_counter()
    with torch.no_grad():
        out = model.generate(
            torch.tensor([prompt_ids]),
            max_new_tokens=max_tokens,
            do_sample=False,
            eos_token_id=stop_ids,
            streamer=clock,
            pad_token_id=stop_ids[0],
        )
    return {"first": clock.first, "total": time.perf_counter() - start, "tokens": out.shape[1] - len(prompt_ids)}


def decode_rate(result: dict) -> float:
    return (result["tokens"] - 1) / max(result["total"] - result["first"], 1e-9)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="HuggingFaceTB/SmolLM2-135M-Instruct")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import httpx
    import openai

    from arkor.engine.models import load_model, load_tokenizer
    from arkor.server.runner import BackgroundServer
    from arkor.server.settings import ServerSettings

    header = {"X-Arkor-Client": "arkor/0.1.0"}
    with (
        tempfile.TemporaryDirectory() as data_dir,
        BackgroundServer(ServerSettings(data_dir=Path(data_dir), worker_command=[sys.executable, "-c", "0"])) as server,
    ):
        http = httpx.Client(base_url=server.url, headers=header, timeout=600)
        anon = http.post("/v1/auth/anonymous", json={"kind": "cli"}).json()
        http.headers["Authorization"] = f"Bearer {anon['token']}"
        org = anon["personalOrg"]["slug"]
        http.post("/v1/projects", params={"orgSlug": org}, json={"name": "bench", "slug": "bench"}).raise_for_status()
        http.post(
            "/v1/endpoints",
            params={"orgSlug": org, "projectSlug": "bench"},
            json={
                "slug": "bench-model",
                "target": {"kind": "base_model", "baseModel": args.model},
                "authMode": "none",
            },
        ).raise_for_status()
        client = openai.OpenAI(base_url=f"{server.url}/d/bench-model/v1", api_key="none", max_retries=0, timeout=600)
        bench_deployment(client, 4)  # warm-up: loads the model into the server's engine
        served = [bench_deployment(client, args.tokens) for _ in range(args.repeats)]

    tokenizer = load_tokenizer(args.model)
    model = load_model(args.model).eval()
    text = tokenizer.apply_chat_template(PROMPT, add_generation_prompt=True, tokenize=False)
    prompt_ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])  # as the engine renders it
    stop_ids = [tokenizer.eos_token_id] + [
        i for i in [tokenizer.convert_tokens_to_ids("<|im_end|>")] if isinstance(i, int)
    ]
    bench_transformers(model, prompt_ids, 4, stop_ids)
    plain = [bench_transformers(model, prompt_ids, args.tokens, stop_ids) for _ in range(args.repeats)]

    def row(name: str, results: list[dict]) -> tuple[float, float]:
        first = statistics.median(r["first"] for r in results) * 1000
        rate = statistics.median(decode_rate(r) for r in results)
        tokens = statistics.median(r["tokens"] for r in results)
        print(f"{name:<34} first token {first:7.1f} ms   decode {rate:6.1f} tok/s   ({tokens:.0f} tokens)")
        return first, rate

    print(f"model {args.model}, greedy, {args.tokens} new tokens max, median of {args.repeats}")
    served_first, served_rate = row("deployment (openai client, SSE)", served)
    plain_first, plain_rate = row("transformers generate (in-process)", plain)
    print(
        f"ratio deployment/transformers: first token {served_first / plain_first:.2f}x, "
        f"decode rate {served_rate / plain_rate:.2f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

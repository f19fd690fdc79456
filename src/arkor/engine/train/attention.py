"""Which attention kernel a CPU training step runs, chosen per batch by its length.

PyTorch's CPU flash-attention (`sdpa`) pays a large fixed cost in its backward pass: on rows of
about 100 tokens it was 17% of a SmolLM2-135M LoRA step, and the plain matmul-softmax (`eager`)
kernel cut the step's CPU time by about 20% (profiled with torch.profiler, 3 steps, batch 4).
`eager` keeps the (tokens x tokens) score matrix of every layer for the backward pass, so long
batches go back to `sdpa`, whose memory grows linearly. GPUs keep their default kernel.
"""

from __future__ import annotations

from typing import Any

EAGER_MAX_TOKENS = 256  # longest batch (padded length) trained with the eager kernel on CPU


def attention_for(device: str, tokens: int) -> str | None:
    """The kernel for a batch padded to `tokens` on `device`, or None to leave the model's default."""
    if device != "cpu":
        return None
    return "eager" if tokens <= EAGER_MAX_TOKENS else "sdpa"


def use_attention_for(model: Any, device: str, tokens: int) -> None:
    """Switch `model` (a PEFT-wrapped or plain transformers model) to the kernel for this batch;
    a no-op when it already runs it or the model cannot switch."""
    wanted = attention_for(device, tokens)
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    config = getattr(base, "config", None)
    if wanted is None or config is None or getattr(config, "_attn_implementation", wanted) == wanted:
        return
    if hasattr(base, "set_attn_implementation"):
        base.set_attn_implementation(wanted)

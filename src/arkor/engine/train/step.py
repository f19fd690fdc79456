"""One optimizer step of LoRA training: forward and backward over its micro-batches, clip, update.

The training loop (`run`) and the `torch.compile` benchmark call this one function, so what is
measured is the step that trains. The loss of the step is the mean over all its labelled tokens:
each micro-batch's summed loss is divided by the step's label count (not its own), so gradient
accumulation gives the gradient of one large batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..config import TrainingPlan
from .attention import use_attention_for
from .loss import IGNORE_INDEX, labelled_token_loss_sum

MAX_GRAD_NORM = 1.0  # the norm the LoRA factors' gradients are clipped to, every step


@dataclass(frozen=True)
class StepResult:
    loss: float  # mean next-token loss over the step's labelled tokens
    samples: int  # rows trained on
    tokens: int  # real (unpadded) tokens trained on


def train_step(model: Any, optimizer: Any, micro_batches: Sequence[dict[str, Any]], plan: TrainingPlan) -> StepResult:
    """Train `model` on `micro_batches` (collated, on any device) and take one optimizer step. The
    gradient norm clipped is that of the parameters `optimizer` updates (the LoRA factors)."""
    import torch

    labels = sum(int((batch["labels"][:, 1:] != IGNORE_INDEX).sum()) for batch in micro_batches)
    denominator = max(labels, 1)
    loss = 0.0
    samples = tokens = 0
    for batch in micro_batches:
        batch = {key: value.to(plan.device) for key, value in batch.items()}
        use_attention_for(model, plan.device, batch["input_ids"].shape[1])
        with torch.autocast(device_type=plan.device, dtype=getattr(torch, plan.dtype), enabled=plan.dtype != "float32"):
            loss_sum, _ = labelled_token_loss_sum(model, batch["input_ids"], batch["attention_mask"], batch["labels"])
        (loss_sum / denominator).backward()
        loss += float(loss_sum.detach()) / denominator
        samples += batch["input_ids"].shape[0]
        tokens += int(batch["attention_mask"].sum())
    torch.nn.utils.clip_grad_norm_([p for group in optimizer.param_groups for p in group["params"]], MAX_GRAD_NORM)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return StepResult(loss=loss, samples=samples, tokens=tokens)

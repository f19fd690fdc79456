"""Causal-LM loss that runs the LM head only where a label is.

Response-only fine-tuning labels a small share of positions; projecting every position through a
large vocabulary head (262k for Gemma) is most of the compute and memory of a step. Selecting the
labelled hidden states first gives the same loss for a fraction of the cost.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100


def decoder_and_head(model: torch.nn.Module) -> tuple[torch.nn.Module, torch.nn.Module, float | None]:
    """The transformer body, the LM head and the logit soft-cap of a (PEFT-wrapped) causal LM."""
    # A transformers / PEFT model: torch types its attributes (`get_base_model`, `config`) as tensor-or-module.
    wrapped: Any = model
    base = wrapped.get_base_model() if hasattr(wrapped, "get_base_model") else wrapped
    body = getattr(base, base.base_model_prefix)
    head = base.get_output_embeddings()
    softcap = getattr(base.config, "final_logit_softcapping", None)
    return body, head, softcap


def labelled_token_loss_sum(
    model: torch.nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, int]:
    """Sum of next-token cross-entropy over labelled positions, and how many there were."""
    body, head, softcap = decoder_and_head(model)
    hidden = body(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    targets = labels[:, 1:]
    keep = targets != IGNORE_INDEX
    count = int(keep.sum())
    if count == 0:
        return hidden.sum() * 0.0, 0
    selected = hidden[:, :-1][keep]
    logits = head(selected).float()
    if softcap:
        logits = torch.tanh(logits / softcap) * softcap
    loss_sum = F.cross_entropy(logits, targets[keep], reduction="sum")
    return loss_sum, count

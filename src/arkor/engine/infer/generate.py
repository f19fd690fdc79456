"""The token loop: one prompt in, text deltas out (KV cache, sampling, stop handling).

Owns:
- `SamplingSettings`: the per-request knobs (max tokens, temperature, top_p, seed, stops).
- `generate_token_ids`: the model forward loop with a `DynamicCache`, greedy or temperature/top-p
  sampling, optional logit masking by a `TokenConstraint` (structured outputs).
- `stream_text`: turns the token stream into text deltas. It decodes the whole generated sequence
  each step and emits only the new suffix, holding back (a) a trailing U+FFFD (an incomplete
  multi-byte character that the next token completes) and (b) any tail that could be the start
  of a stop string, so a stop sequence never leaks to the caller, even partially.

Callers hold the base model's lock for the whole iteration: the model is stateful (active adapter).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:  # heavy imports stay inside functions at runtime
    import torch

logger = logging.getLogger(__name__)

FinishReason = Literal["stop", "length"]
REPLACEMENT_CHAR = "\ufffd"


@dataclass(frozen=True)
class SamplingSettings:
    """How to pick tokens for one request. temperature 0 means greedy."""

    max_new_tokens: int = 256
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    stop_strings: tuple[str, ...] = ()
    stop_token_ids: frozenset[int] = field(default_factory=frozenset)


class TokenConstraint(Protocol):
    """Restricts which token may come next (structured outputs). Stateful: one per request."""

    def mask_logits(self, logits: torch.Tensor) -> None:
        """Set the logits of every disallowed next token to -inf, in place (1-D tensor)."""

    def accept(self, token_id: int) -> None:
        """Advance past a sampled token."""

    def is_finished(self) -> bool:
        """True when the constrained text is complete and generation must end."""


@dataclass
class TextDelta:
    """New text safe to show (never part of a stop string, never half a character)."""

    text: str


@dataclass
class Finished:
    """The end of a generation: why, and how many tokens the model produced."""

    reason: FinishReason
    completion_tokens: int


def _sample(logits: torch.Tensor, settings: SamplingSettings, generator: torch.Generator | None) -> int:
    import torch

    if settings.temperature <= 0:
        return int(torch.argmax(logits).item())
    scaled = logits / settings.temperature
    probs = torch.softmax(scaled, dim=-1)
    if settings.top_p < 1.0:
        sorted_probs, sorted_ids = torch.sort(probs, descending=True)
        cumulative = torch.cumsum(sorted_probs, dim=-1)
        # Keep the smallest prefix whose mass reaches top_p (always at least the top token).
        outside = (cumulative - sorted_probs) >= settings.top_p
        sorted_probs = sorted_probs.masked_fill(outside, 0.0)
        choice = torch.multinomial(sorted_probs / sorted_probs.sum(), 1, generator=generator)
        return int(sorted_ids[choice].item())
    return int(torch.multinomial(probs, 1, generator=generator).item())


def generate_token_ids(
    model,
    prompt_ids: Sequence[int],
    settings: SamplingSettings,
    constraint: TokenConstraint | None = None,
) -> Iterator[int]:
    """Yield sampled token ids, one per forward pass, until a stop token or the token budget.

    A stop token is yielded too (the caller counts it as a completion token) and ends the loop.
    """
    import torch
    from transformers import DynamicCache

    generator = None
    if settings.temperature > 0:
        generator = torch.Generator(device="cpu")
        generator.manual_seed(settings.seed if settings.seed is not None else random.getrandbits(63))

    device = next(model.parameters()).device
    input_ids = torch.tensor([list(prompt_ids)], dtype=torch.long, device=device)
    cache = DynamicCache(config=getattr(model, "config", None))
    # Only the last position's logits are needed; computing the LM head for the whole prompt is
    # wasted work (large for big vocabularies). Architectures without the argument get it all.
    extra: dict = {"logits_to_keep": 1}
    with torch.inference_mode():
        for _ in range(settings.max_new_tokens):
            try:
                outputs = model(input_ids=input_ids, past_key_values=cache, use_cache=True, **extra)
            except TypeError as exc:
                if not extra or "logits_to_keep" not in str(exc):
                    raise
                extra = {}
                outputs = model(input_ids=input_ids, past_key_values=cache, use_cache=True)
            cache = outputs.past_key_values
            logits = outputs.logits[0, -1, :].float()
            if constraint is not None:
                constraint.mask_logits(logits)
                if not torch.isfinite(logits).any():
                    raise RuntimeError("structured output constraint allows no next token")
            token_id = _sample(logits, settings, generator)
            yield token_id
            if token_id in settings.stop_token_ids:
                return
            if constraint is not None:
                constraint.accept(token_id)
                if constraint.is_finished():
                    return
            input_ids = torch.tensor([[token_id]], dtype=torch.long, device=device)


def _held_back_length(text: str, stop_strings: Sequence[str]) -> int:
    """Length of the longest tail of `text` that is a proper prefix of some stop string."""
    longest = 0
    for stop in stop_strings:
        for size in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:size]):
                longest = size
                break
    return longest


def stream_text(
    tokenizer,
    token_ids: Iterator[int],
    settings: SamplingSettings,
    constraint: TokenConstraint | None = None,
) -> Iterator[TextDelta | Finished]:
    """Turn a token stream into safe text deltas, then one `Finished`.

    Finish reason: "stop" for a stop token, a stop string or a completed constraint; "length"
    when the token budget ran out first.
    """
    stop_strings = [s for s in settings.stop_strings if s]
    text_ids: list[int] = []
    emitted = 0  # characters of the decoded text already yielded
    produced = 0
    text = ""
    for token_id in token_ids:
        produced += 1
        if token_id in settings.stop_token_ids:
            break
        text_ids.append(token_id)
        text = tokenizer.decode(text_ids, skip_special_tokens=True)
        if stop_strings:
            search_from = max(0, emitted - max(len(s) for s in stop_strings) + 1)
            hits = [i for i in (text.find(s, search_from) for s in stop_strings) if i >= 0]
            if hits:
                cut = min(hits)
                if cut > emitted:
                    yield TextDelta(text[emitted:cut])
                yield Finished("stop", produced)
                return
        safe_end = len(text)
        while safe_end > emitted and text[safe_end - 1] == REPLACEMENT_CHAR:
            safe_end -= 1
        safe_end -= _held_back_length(text[emitted:safe_end], stop_strings)
        if safe_end > emitted:
            yield TextDelta(text[emitted:safe_end])
            emitted = safe_end
    else:
        # Ran out of tokens (or a constraint completed): flush what was held back.
        reason: FinishReason = "stop" if constraint is not None and constraint.is_finished() else "length"
        if len(text) > emitted:
            yield TextDelta(text[emitted:])
        yield Finished(reason, produced)
        return
    if len(text) > emitted:
        yield TextDelta(text[emitted:])
    yield Finished("stop", produced)

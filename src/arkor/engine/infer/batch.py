"""Greedy answers to many chat prompts at once: left-padded batches with the KV cache on.

What scoring needs (task accuracy while training, `evaluate_template`): no sampling, no grammar,
no streaming, many prompts. `InferenceEngine` serves single requests with all of those; this runs
`DECODE_BATCH` rows per forward pass instead of one, which is what makes scoring a whole eval file cheap.
Prompts are rendered by the tokenizer's chat template with the generation prompt, exactly as the
training rows were, and an answer ends at the template's end-of-turn marker or EOS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DECODE_BATCH = 16
ANSWER_SLACK_TOKENS = 16  # beyond the longest reference answer: room to be right, not to ramble


def answer_budget(tokenizer: Any, references: list[str], cap: int | None = None) -> int:
    """max_new_tokens for scoring: the longest reference answer in tokens plus some slack (at most `cap`)."""
    longest = max((len(tokenizer.encode(ref, add_special_tokens=False)) for ref in references), default=0)
    budget = longest + ANSWER_SLACK_TOKENS
    return budget if cap is None else min(budget, cap)


@dataclass(frozen=True)
class BatchDecoder:
    tokenizer: Any
    device: Any
    pad_id: int
    stop_ids: tuple[int, ...]
    marker: str

    @classmethod
    def for_tokenizer(cls, tokenizer: Any, device: Any = "cpu") -> BatchDecoder:
        from arkor.engine.data.render import turn_end_marker

        marker = turn_end_marker(tokenizer)
        stops = {tokenizer.eos_token_id}
        marker_ids = tokenizer.encode(marker, add_special_tokens=False) if marker else []
        if len(marker_ids) == 1:
            stops.add(marker_ids[0])
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        return cls(tokenizer, device, pad_id, tuple(sorted(i for i in stops if i is not None)), marker)

    def prompt_ids(self, messages: list[dict[str, Any]], max_length: int | None = None) -> list[int]:
        """The prompt the model answers: every message rendered, then the generation prompt; a prompt
        longer than `max_length` keeps its last `max_length` tokens."""
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        return ids[-max_length:] if max_length else ids

    def answers(
        self,
        model: Any,
        prompts: list[list[int]],
        max_new_tokens: int,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> list[str]:
        """Greedy answers, one per prompt, in order; the model is left in the mode it was in."""
        import torch

        texts: list[str] = []
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                for start in range(0, len(prompts), DECODE_BATCH):
                    chunk = prompts[start : start + DECODE_BATCH]
                    width = max(len(p) for p in chunk)
                    ids = torch.tensor([[self.pad_id] * (width - len(p)) + p for p in chunk], device=self.device)
                    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in chunk], device=self.device)
                    out = model.generate(
                        input_ids=ids,
                        attention_mask=mask,
                        max_new_tokens=max_new_tokens,
                        do_sample=False,
                        pad_token_id=self.pad_id,
                        eos_token_id=list(self.stop_ids),
                        use_cache=True,
                    )
                    for row in out[:, width:].tolist():
                        text = self.tokenizer.decode(row, skip_special_tokens=True)
                        texts.append(text.split(self.marker)[0].strip() if self.marker else text.strip())
                    if on_batch is not None:
                        on_batch(len(texts), len(prompts))
        finally:
            if was_training:
                model.train()
        return texts

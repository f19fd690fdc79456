"""Task accuracy while training: greedy answers to a bounded sample of the `eval_dataset` rows,
scored by the job's scorer into one `evaluation.completed` event.

Kept cheap on purpose: at most `plan.eval_rows` rows (spread evenly over the file so every class a
file cycles through is seen), decoding capped at the longest reference answer plus some slack,
left-padded batches with the KV cache on. The prompt is rendered by the same chat template as the
training rows, so what is scored is what was trained.
"""

from __future__ import annotations

from typing import Any

from arkor.protocol import EvaluationCompleted

from ..config import TrainingPlan

ANSWER_SLACK_TOKENS = 8
DECODE_BATCH = 8
DRY_RUN_ROWS = 4  # a dry run checks that scoring works, not how well


def pick_rows(rows: list[list[dict[str, Any]]], count: int) -> list[list[dict[str, Any]]]:
    """`count` rows spread evenly over `rows` (all when there are fewer)."""
    if count >= len(rows):
        return list(rows)
    return [rows[i * len(rows) // count] for i in range(count)]


class TaskScorer:
    """Prompts and references prepared once; `score(model, step)` runs at each eval step."""

    def __init__(self, rows: list[list[dict[str, Any]]], tokenizer: Any, plan: TrainingPlan) -> None:
        from ..data.render import turn_end_marker

        self.scorer = plan.eval_scorer or "json_fields"
        self.tokenizer = tokenizer
        self.device = plan.device
        count = min(plan.eval_rows, DRY_RUN_ROWS) if plan.dry_run else plan.eval_rows
        chosen = [row for row in pick_rows(rows, count) if row and row[-1].get("role") == "assistant"]
        # Bounded like training rows: a prompt keeps its last max_length tokens, an answer at most
        # max_length new tokens, whatever the eval file holds.
        self.prompts = [
            tokenizer.encode(
                tokenizer.apply_chat_template(row[:-1], tokenize=False, add_generation_prompt=True),
                add_special_tokens=False,
            )[-plan.max_length :]
            for row in chosen
        ]
        self.references = [str(row[-1].get("content") or "") for row in chosen]
        longest = max((len(tokenizer.encode(ref, add_special_tokens=False)) for ref in self.references), default=0)
        self.max_new_tokens = min(longest + ANSWER_SLACK_TOKENS, plan.max_length)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        stops = {tokenizer.eos_token_id}
        marker = turn_end_marker(tokenizer)
        marker_ids = tokenizer.encode(marker, add_special_tokens=False) if marker else []
        if len(marker_ids) == 1:
            stops.add(marker_ids[0])
        self.stop_ids = sorted(i for i in stops if i is not None)
        self.marker = marker

    def __len__(self) -> int:
        return len(self.prompts)

    def answers(self, model: Any) -> list[str]:
        import torch

        texts: list[str] = []
        model.eval()
        try:
            with torch.no_grad():
                for start in range(0, len(self.prompts), DECODE_BATCH):
                    chunk = self.prompts[start : start + DECODE_BATCH]
                    width = max(len(p) for p in chunk)
                    ids = torch.tensor([[self.pad_id] * (width - len(p)) + p for p in chunk], device=self.device)
                    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in chunk], device=self.device)
                    out = model.generate(
                        input_ids=ids,
                        attention_mask=mask,
                        max_new_tokens=self.max_new_tokens,
                        do_sample=False,
                        pad_token_id=self.pad_id,
                        eos_token_id=self.stop_ids,
                        use_cache=True,
                    )
                    for row in out[:, width:].tolist():
                        text = self.tokenizer.decode(row, skip_special_tokens=True)
                        texts.append(text.split(self.marker)[0].strip() if self.marker else text.strip())
        finally:
            model.train()
        return texts

    def score(self, model: Any, step: int) -> EvaluationCompleted:
        from arkor.templates.scoring import all_exact, score_answer

        rows = [
            score_answer(self.scorer, predicted, expected)
            for predicted, expected in zip(self.answers(model), self.references)
        ]
        names: list[str] = []
        for row in rows:
            names.extend(name for name in row if name not in names)
        count = len(rows)
        fields = {
            name: round(sum(float(row.get(name) or 0) for row in rows) / count, 4) if count else 0.0 for name in names
        }
        accuracy = round(sum(all_exact(row) for row in rows) / count, 4) if count else 0.0
        return EvaluationCompleted(step=step, scorer=self.scorer, accuracy=accuracy, fields=fields, rows=count)

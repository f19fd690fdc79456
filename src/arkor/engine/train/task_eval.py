"""Task accuracy while training: greedy answers to a bounded sample of the `eval_dataset` rows,
scored by the job's scorer into one `evaluation.completed` event.

Kept cheap on purpose: at most `plan.eval_rows` rows (spread evenly over the file so every class a
file cycles through is seen), decoding capped at the longest reference answer plus some slack,
left-padded batches with the KV cache on (`infer.batch`). The prompt is rendered by the same chat template as the
training rows, so what is scored is what was trained.
"""

from __future__ import annotations

from typing import Any

from arkor.protocol import EvaluationCompleted

from ..config import TrainingPlan

DRY_RUN_ROWS = 4  # a dry run checks that scoring works, not how well


def pick_rows(rows: list[list[dict[str, Any]]], count: int) -> list[list[dict[str, Any]]]:
    """`count` rows spread evenly over `rows` (all when there are fewer)."""
    if count >= len(rows):
        return list(rows)
    return [rows[i * len(rows) // count] for i in range(count)]


class TaskScorer:
    """Prompts and references prepared once; `score(model, step)` runs at each eval step."""

    def __init__(self, rows: list[list[dict[str, Any]]], tokenizer: Any, plan: TrainingPlan) -> None:
        from ..infer.batch import BatchDecoder, answer_budget

        self.scorer = plan.eval_scorer or "json_fields"
        self.decoder = BatchDecoder.for_tokenizer(tokenizer, plan.device)
        count = min(plan.eval_rows, DRY_RUN_ROWS) if plan.dry_run else plan.eval_rows
        chosen = [row for row in pick_rows(rows, count) if row and row[-1].get("role") == "assistant"]
        # Bounded like training rows: a prompt keeps its last max_length tokens, an answer at most
        # max_length new tokens, whatever the eval file holds.
        self.prompts = [self.decoder.prompt_ids(row[:-1], plan.max_length) for row in chosen]
        self.references = [str(row[-1].get("content") or "") for row in chosen]
        self.max_new_tokens = answer_budget(tokenizer, self.references, cap=plan.max_length)

    def __len__(self) -> int:
        return len(self.prompts)

    def answers(self, model: Any) -> list[str]:
        return self.decoder.answers(model, self.prompts, self.max_new_tokens)

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

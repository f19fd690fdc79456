"""Held-out evaluation of a model (optionally with an adapter) on a template's eval set.

Used by `make demo` and `benchmarks/quality.py`: greedy chat completions of each eval row's prompt
(every message but the final assistant one), scored field by field against the expected answer.
Decoding is capped at the longest reference answer plus some slack, so a base model that rambles
costs no more than one that answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ANSWER_SLACK_TOKENS = 16  # beyond the longest reference answer: room to be right, not to ramble


@dataclass
class EvalReport:
    template: str
    rows: int
    accuracy: dict[str, float]
    samples: list[tuple[str, str]]  # (predicted, expected) for the first few rows

    @property
    def exact_fields(self) -> float:
        return self.accuracy.get("exact_fields", 0.0)


def pick_eval_rows(template: str, count: int | None, split: str = "eval") -> list[dict]:
    """`count` held-out rows spread evenly over the eval file (all of them when None), so every
    class the file cycles through is represented."""
    from arkor.templates.scoring import load_eval_rows

    rows = load_eval_rows(template, split)
    if count is None or count >= len(rows):
        return rows
    return [rows[i * len(rows) // count] for i in range(count)]


def answer_budget(model_id: str, rows: list[dict]) -> int:
    """max_tokens for decoding: the longest reference answer in tokens, plus some slack."""
    from .models import load_tokenizer

    tokenizer = load_tokenizer(model_id)
    longest = max(len(tokenizer.encode(row["messages"][-1]["content"], add_special_tokens=False)) for row in rows)
    return longest + ANSWER_SLACK_TOKENS


def evaluate_template(
    template: str,
    model_id: str,
    *,
    adapter_dir: Path | None = None,
    max_rows: int | None = None,
    max_tokens: int | None = None,
    engine: Any = None,
    on_row: Callable[[int, int], None] | None = None,
    split: str = "eval",
) -> EvalReport:
    from arkor.protocol import InferenceChatRequest
    from arkor.templates.scoring import score_prediction, summarize

    from .infer import get_engine

    rows = pick_eval_rows(template, max_rows, split)
    budget = max_tokens or answer_budget(model_id, rows)
    engine = engine or get_engine()
    scores: list[Any] = []
    samples: list[tuple[str, str]] = []
    for index, row in enumerate(rows):
        messages = row["messages"]
        expected = messages[-1]["content"]
        request = InferenceChatRequest(messages=messages[:-1], temperature=0, max_tokens=budget, stream=False)
        completion = engine.complete(request, model_id=model_id, adapter_dir=adapter_dir)
        predicted = completion.choices[0].message.content or ""
        scores.append(score_prediction(template, predicted, expected))
        if len(samples) < 3:
            samples.append((predicted, expected))
        if on_row:
            on_row(index + 1, len(rows))
    return EvalReport(template=template, rows=len(rows), accuracy=summarize(scores), samples=samples)

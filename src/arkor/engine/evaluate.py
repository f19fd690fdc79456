"""Held-out evaluation of a model (optionally with an adapter) on a template's eval set.

Used by `make demo` and `benchmarks/quality.py`: greedy chat completions of each eval row's prompt
(every message but the final assistant one), scored field by field against the expected answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable


@dataclass
class EvalReport:
    template: str
    rows: int
    accuracy: dict[str, float]
    samples: list[tuple[str, str]]  # (predicted, expected) for the first few rows

    @property
    def exact_fields(self) -> float:
        return self.accuracy.get("exact_fields", 0.0)


def evaluate_template(
    template: str,
    model_id: str,
    *,
    adapter_dir: Path | None = None,
    max_rows: int | None = None,
    max_tokens: int = 96,
    on_row: Callable[[int, int], None] | None = None,
) -> EvalReport:
    from arkor.protocol import InferenceChatRequest
    from arkor.templates.scoring import load_eval_rows, score_prediction, summarize

    from .infer import get_engine

    rows = load_eval_rows(template)[: max_rows or None]
    engine = get_engine()
    scores, samples = [], []
    for index, row in enumerate(rows):
        messages = row["messages"]
        expected = messages[-1]["content"]
        request = InferenceChatRequest(messages=messages[:-1], temperature=0, max_tokens=max_tokens, stream=False)
        completion = engine.complete(request, model_id=model_id, adapter_dir=adapter_dir)
        predicted = completion.choices[0].message.content or ""
        scores.append(score_prediction(template, predicted, expected))
        if len(samples) < 3:
            samples.append((predicted, expected))
        if on_row:
            on_row(index + 1, len(rows))
    return EvalReport(template=template, rows=len(rows), accuracy=summarize(scores), samples=samples)

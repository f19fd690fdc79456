"""Held-out evaluation of a model (optionally with an adapter) on a template's eval set.

Used by `make demo` and the benchmarks: greedy answers to each eval row's prompt (every message but
the final assistant one), scored field by field against the expected answer. Rows are decoded in
batches (`infer.batch`, the same decoder the engine scores with while training); passing an
`InferenceEngine` or a `response_format` decodes them one by one through the serving path instead,
with constrained decoding when a schema is given. Decoding is capped at the longest reference answer
plus some slack, so a base model that rambles costs no more than one that answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class EvalReport:
    template: str
    rows: int
    accuracy: dict[str, float]
    samples: list[tuple[str, str]]  # (predicted, expected) for the first few rows
    # Every row with an exact field wrong: its index, prompt, answer, reference and the wrong fields.
    misses: list[dict[str, Any]] = field(default_factory=list)

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


def batched_answers(
    model_id: str,
    rows: list[dict],
    max_tokens: int,
    adapter_dir: Path | None = None,
    on_row: Callable[[int, int], None] | None = None,
) -> list[str]:
    """Greedy answers to `rows`' prompts from the base model (plus the adapter), a batch at a time."""
    from .infer.batch import BatchDecoder
    from .models import load_model, load_tokenizer

    tokenizer = load_tokenizer(model_id)
    model = load_model(model_id)
    if adapter_dir is not None:
        from peft import PeftModel

        # Merged into the base weights: the same function, without LoRA's extra matmuls per layer.
        model = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    decoder = BatchDecoder.for_tokenizer(tokenizer)
    prompts = [decoder.prompt_ids(row["messages"][:-1]) for row in rows]
    return decoder.answers(model, prompts, max_tokens, on_batch=on_row)


def engine_answers(
    engine: Any,
    model_id: str,
    rows: list[dict],
    max_tokens: int,
    adapter_dir: Path | None = None,
    on_row: Callable[[int, int], None] | None = None,
    response_format: dict[str, Any] | None = None,
) -> list[str]:
    """The same answers one request at a time through `InferenceEngine` (the serving path)."""
    from arkor.protocol import InferenceChatRequest

    answers: list[str] = []
    for row in rows:
        request = InferenceChatRequest.model_validate(
            {
                "messages": row["messages"][:-1],
                "temperature": 0,
                "max_tokens": max_tokens,
                "stream": False,
                "response_format": response_format,
            }
        )
        completion = engine.complete(request, model_id=model_id, adapter_dir=adapter_dir)
        answers.append(completion.choices[0].message.content or "")
        if on_row:
            on_row(len(answers), len(rows))
    return answers


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
    response_format: dict[str, Any] | None = None,
) -> EvalReport:
    from .infer.batch import answer_budget
    from .models import load_tokenizer

    rows = pick_eval_rows(template, max_rows, split)
    # The same budget as task accuracy while training.
    budget = max_tokens or answer_budget(load_tokenizer(model_id), [row["messages"][-1]["content"] for row in rows])
    if engine is None and response_format is None:
        predictions = batched_answers(model_id, rows, budget, adapter_dir, on_row)
    else:
        from .infer import get_engine

        predictions = engine_answers(
            engine or get_engine(), model_id, rows, budget, adapter_dir, on_row, response_format
        )
    return score_answers(template, rows, predictions)


def score_answers(template: str, rows: list[dict], predictions: list[str]) -> EvalReport:
    """Score each prediction against its row's reference answer, field by field; the report keeps
    the first few (answer, reference) pairs and every row with an exact field wrong."""
    from arkor.templates.scoring import score_prediction, summarize

    scores = []
    samples: list[tuple[str, str]] = []
    misses: list[dict[str, Any]] = []
    for index, (row, predicted) in enumerate(zip(rows, predictions, strict=True)):
        expected = row["messages"][-1]["content"]
        score = score_prediction(template, predicted, expected)
        scores.append(score)
        if len(samples) < 3:
            samples.append((predicted, expected))
        wrong = [name for name, right in score.items() if right is False]  # graded fields are floats
        if wrong:
            prompt = row["messages"][-2]["content"]
            misses.append(
                {"row": index, "prompt": prompt, "predicted": predicted, "expected": expected, "fields": wrong}
            )
    return EvalReport(template=template, rows=len(rows), accuracy=summarize(scores), samples=samples, misses=misses)

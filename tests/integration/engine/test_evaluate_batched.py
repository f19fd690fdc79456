"""Held-out scoring decodes rows in batches; the answers are the serving path's, row for row."""

from __future__ import annotations

import uuid
from pathlib import Path

from arkor.engine.evaluate import batched_answers, engine_answers, evaluate_template, pick_eval_rows
from arkor.engine.infer import InferenceEngine

TINY = "arkor/tiny-test"


def tiny_adapter(folder: Path) -> Path:
    """A LoRA adapter for the tiny model with non-zero B, so it changes the answers."""
    import torch
    from peft import LoraConfig, get_peft_model

    from arkor.engine.models import load_model

    model = get_peft_model(load_model(TINY), LoraConfig(r=4, lora_alpha=8, target_modules="all-linear"))
    torch.manual_seed(0)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.2)
    model.save_pretrained(folder)
    return folder


def test_batched_answers_match_the_serving_path_row_for_row(tmp_path: Path) -> None:
    # Rows of different prompt lengths, so the batch is left-padded.
    rows = pick_eval_rows("triage", 10)
    adapter = tiny_adapter(tmp_path / f"adapter-{uuid.uuid4().hex}")
    engine = InferenceEngine(max_bases=1)
    for folder in (None, adapter):
        batched = batched_answers(TINY, rows, 12, adapter_dir=folder)
        one_by_one = engine_answers(engine, TINY, rows, 12, adapter_dir=folder)
        assert len(batched) == len(rows)
        assert batched == [answer.strip() for answer in one_by_one]  # the batch decoder trims whitespace
    assert batched_answers(TINY, rows, 12) != batched_answers(TINY, rows, 12, adapter_dir=adapter)


def test_evaluate_template_reports_progress_and_scores_every_row() -> None:
    seen: list[tuple[int, int]] = []
    report = evaluate_template(
        "triage", TINY, max_rows=20, max_tokens=4, on_row=lambda done, total: seen.append((done, total))
    )
    assert report.rows == 20
    assert seen[-1] == (20, 20)
    assert set(report.accuracy) >= {"valid_json", "category", "urgency", "next_action", "exact_fields"}

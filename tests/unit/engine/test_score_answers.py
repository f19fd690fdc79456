"""Held-out scoring keeps every row it got wrong, with the fields that were wrong."""

from __future__ import annotations

import json

import pytest

from arkor.engine.evaluate import pick_eval_rows, score_answers


def with_field(answer: str, **changes: str) -> str:
    return json.dumps({**json.loads(answer), **changes})


def test_each_miss_names_its_row_prompt_and_wrong_fields() -> None:
    rows = pick_eval_rows("triage", 4)
    references = [row["messages"][-1]["content"] for row in rows]
    predictions = [
        references[0],
        with_field(references[1], urgency="no-such-urgency"),
        "not json at all",
        with_field(references[3], category="no-such-category", next_action="no-such-action"),
    ]
    report = score_answers("triage", rows, predictions)

    assert report.rows == 4
    assert report.accuracy["urgency"] == pytest.approx(0.5)
    assert [miss["row"] for miss in report.misses] == [1, 2, 3]
    assert report.misses[0]["fields"] == ["urgency"]
    assert report.misses[0]["prompt"] == rows[1]["messages"][-2]["content"]
    assert report.misses[0]["predicted"] == predictions[1]
    assert report.misses[0]["expected"] == references[1]
    assert set(report.misses[1]["fields"]) == {"valid_json", "category", "urgency", "next_action"}
    assert set(report.misses[2]["fields"]) == {"category", "next_action"}


def test_graded_fields_are_not_misses() -> None:
    # translate's chrF is a score in 0..1, not right or wrong: a close translation is no miss.
    rows = pick_eval_rows("translate", 1)
    reference = rows[0]["messages"][-1]["content"]
    close = with_field(reference, translation=json.loads(reference)["translation"] + " ")
    report = score_answers("translate", rows, [close])
    assert report.misses == []


def test_a_prediction_per_row_is_required() -> None:
    rows = pick_eval_rows("triage", 2)
    with pytest.raises(ValueError):
        score_answers("triage", rows, [rows[0]["messages"][-1]["content"]])

"""arkor.templates.scoring: exact-field scoring that tolerates any model output."""

from __future__ import annotations

import collections
import json

import pytest

from arkor.errors import ConfigError
from arkor.templates.scoring import (
    TEMPLATE_NAMES,
    data_dir,
    extract_json_object,
    load_eval_rows,
    score_prediction,
    summarize,
)

TRIAGE = '{"category":"billing","urgency":"high","summary":"Charged twice","next_action":"refund"}'
TRANSLATE = '{"translation":"Where is my package?","detected_language":"de"}'
REDACTION = '{"redacted":"Call [NAME] at [PHONE].","count":2,"tags":["NAME","PHONE"]}'


def with_fields(expected: str, **changes) -> str:
    data = json.loads(expected)
    data.update(changes)
    return json.dumps(data)


@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_every_eval_row_scores_perfectly_against_itself(template):
    rows = load_eval_rows(template)
    scores = [score_prediction(template, r["messages"][-1]["content"], r["messages"][-1]["content"]) for r in rows]
    summary = summarize(scores)
    assert summary["exact_fields"] == 1.0
    assert all(value == 1.0 for value in summary.values())


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "   ",
        "I think this is billing.",
        "{not json",
        '{"category": "billing"',
        "[1, 2, 3]",
        '"just a string"',
        "{{{{",
        "}{",
        None,
        42,
    ],
)
@pytest.mark.parametrize("template,expected", [("triage", TRIAGE), ("translate", TRANSLATE), ("redaction", REDACTION)])
def test_garbage_output_scores_zero_and_never_raises(template, expected, garbage):
    scores = score_prediction(template, garbage, expected)
    assert scores["valid_json"] is False
    assert not any(scores.values())


def test_json_inside_chatter_or_code_fence_is_found():
    text = "Sure! Here it is:\n```json\n" + TRIAGE + "\n```\nLet me know {if} you need more."
    assert score_prediction("triage", text, TRIAGE) == {
        "valid_json": True,
        "category": True,
        "urgency": True,
        "next_action": True,
    }
    assert extract_json_object('noise {bad} then {"a": 1} and {"b": 2}') == {"a": 1}


def test_triage_partially_right_answer():
    predicted = with_fields(TRIAGE, urgency="medium", summary="something else entirely")
    assert score_prediction("triage", predicted, TRIAGE) == {
        "valid_json": True,
        "category": True,
        "urgency": False,
        "next_action": True,
    }
    missing = json.dumps({"category": "billing"})
    assert score_prediction("triage", missing, TRIAGE) == {
        "valid_json": True,
        "category": True,
        "urgency": False,
        "next_action": False,
    }
    assert score_prediction("triage", with_fields(TRIAGE, category="Billing"), TRIAGE)["category"] is False
    assert score_prediction("triage", with_fields(TRIAGE, category=["billing"]), TRIAGE)["category"] is False


def test_translate_ignores_case_punctuation_and_spacing_only():
    loose = with_fields(TRANSLATE, translation="  where is my   package ")
    loose_scores = score_prediction("translate", loose, TRANSLATE)
    assert 0 < loose_scores.pop("translation_chrf") < 1  # chrF sees the case and punctuation
    assert loose_scores == {"valid_json": True, "detected_language": True, "translation": True}
    wrong = with_fields(TRANSLATE, translation="Where is my parcel?", detected_language="nl")
    wrong_scores = score_prediction("translate", wrong, TRANSLATE)
    assert 0 < wrong_scores.pop("translation_chrf") < 1
    assert wrong_scores == {"valid_json": True, "detected_language": False, "translation": False}
    assert score_prediction("translate", with_fields(TRANSLATE, translation=None), TRANSLATE)["translation"] is False


def test_redaction_fields():
    reordered = with_fields(REDACTION, tags=["PHONE", "NAME"])
    assert score_prediction("redaction", reordered, REDACTION) == {
        "valid_json": True,
        "count": True,
        "tags": True,
        "redacted": True,
    }
    assert score_prediction("redaction", with_fields(REDACTION, count="2"), REDACTION)["count"] is False
    assert score_prediction("redaction", with_fields(REDACTION, tags=["NAME"]), REDACTION)["tags"] is False
    assert score_prediction("redaction", with_fields(REDACTION, tags="NAME,PHONE"), REDACTION)["tags"] is False
    leaked = with_fields(REDACTION, redacted="Call Tom at [PHONE].")
    assert score_prediction("redaction", leaked, REDACTION)["redacted"] is False
    one = '{"redacted":"[NAME] here.","count":1,"tags":["NAME"]}'
    assert score_prediction("redaction", with_fields(one, count=True), one)["count"] is False


def test_summarize_per_field_and_exact_fields_mean():
    scores = [
        {"valid_json": True, "category": True, "urgency": False, "next_action": True},
        {"valid_json": True, "category": False, "urgency": False, "next_action": True},
        {"valid_json": False, "category": False, "urgency": False, "next_action": False},
        {"valid_json": True, "category": True, "urgency": True, "next_action": True},
    ]
    summary = summarize(scores)
    assert summary == {
        "valid_json": 0.75,
        "category": 0.5,
        "urgency": 0.25,
        "next_action": 0.75,
        "exact_fields": pytest.approx(0.5),
        "all_exact": 0.25,
    }
    assert summarize([]) == {"exact_fields": 0.0}


@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_constant_majority_answer_is_far_from_perfect(template):
    """Labels are not degenerate: always answering the most common training label scores poorly."""
    rows = load_eval_rows(template)
    expected = [json.loads(r["messages"][-1]["content"]) for r in rows]
    constant = {}
    for field in expected[0]:
        counts = collections.Counter(json.dumps(e[field]) for e in expected)
        constant[field] = json.loads(counts.most_common(1)[0][0])
    prediction = json.dumps(constant)
    summary = summarize([score_prediction(template, prediction, r["messages"][-1]["content"]) for r in rows])
    assert summary["valid_json"] == 1.0
    assert summary["exact_fields"] < 0.5


def test_unknown_template_is_a_config_error():
    with pytest.raises(ConfigError, match="triage"):
        data_dir("blank")
    with pytest.raises(ConfigError):
        score_prediction("nope", "{}", "{}")


@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_every_answer_in_the_template_data_fits_its_schema(template: str) -> None:
    import jsonschema

    from arkor.templates.scoring import ANSWER_SCHEMAS, answer_response_format, load_rows

    schema = ANSWER_SCHEMAS[template]
    assert answer_response_format(template)["json_schema"]["schema"] is schema
    for split in ("train", "eval", "handwritten"):
        for row in load_rows(template, split):
            answer = json.loads(row["messages"][-1]["content"])
            jsonschema.validate(answer, schema)
            assert list(answer) == list(schema["properties"]), f"{template}/{split}: keys in another order"


def test_task_presets_match_what_each_template_trains_on() -> None:
    from arkor.protocol import TaskPresetList
    from arkor.templates.scoring import answer_response_format, load_rows, task_presets

    wire = task_presets().to_wire()
    presets = TaskPresetList.model_validate(wire).presets
    assert [p.template for p in presets] == list(TEMPLATE_NAMES)
    for preset in presets:
        train = load_rows(preset.template, "train")
        assert {row["messages"][0]["content"] for row in train} == {preset.system_prompt}
        assert preset.response_format == answer_response_format(preset.template)
        assert preset.example in {row["messages"][1]["content"] for row in load_rows(preset.template, "eval")}
    assert set(wire["presets"][0]) == {"template", "systemPrompt", "responseFormat", "example"}

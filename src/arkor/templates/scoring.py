"""Held-out scoring for the bundled template datasets (triage, translate, redaction).

Owns: where each template's data lives, loading its eval rows, and per-field exact-match scoring
of a model's answer against the expected assistant JSON. Pure Python (no torch), so it can run in
tests, in a trainer's ``on_checkpoint`` callback, or in a notebook.

Scoring never raises on what a model produced: non-JSON, truncated JSON, JSON with chatter or a
code fence around it all score ``valid_json=False`` (and every field False), and the first
``{...}`` object in the text is used when there is one.

Fields compared per template (all exact, after the light normalisation noted; translate also reports
``translation_chrf``, the sentence chrF of the translation in 0..1, which is a score, not an exact field):
- triage: ``category``, ``urgency``, ``next_action`` (``summary`` is free text and not scored);
- translate: ``detected_language``, ``translation`` (case, punctuation and spacing ignored);
- redaction: ``redacted`` (surrounding/repeated spaces ignored), ``count`` (an integer),
  ``tags`` (order ignored; duplicates count).
"""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arkor.errors import ConfigError

if TYPE_CHECKING:
    from arkor.protocol import TaskPresetList

TEMPLATE_NAMES: tuple[str, ...] = ("triage", "translate", "redaction")
SCORED_FIELDS: dict[str, tuple[str, ...]] = {
    "triage": ("category", "urgency", "next_action"),
    "translate": ("detected_language", "translation"),
    "redaction": ("count", "tags", "redacted"),
}
SPLITS: tuple[str, ...] = ("train", "eval", "handwritten")
VALID_JSON = "valid_json"
EXACT_FIELDS = "exact_fields"
ALL_EXACT = "all_exact"  # the share of rows with every exact field right: what training reports as `accuracy`
TRANSLATION_CHRF = "translation_chrf"
# Graded (0..1) scores reported next to the exact fields; left out of `exact_fields` and "all exact".
GRADED_FIELDS: frozenset[str] = frozenset({TRANSLATION_CHRF})
# Scorers a trainer can name as `eval_scorer`: each template's, every top-level key of the expected
# JSON answer compared exactly ("json_fields"), or the whole answer compared exactly ("exact").
SCORER_NAMES: tuple[str, ...] = (*TEMPLATE_NAMES, "json_fields", "exact")


# The classes each template's answers use (the data generator draws its labels from these).
TRIAGE_CATEGORIES: tuple[str, ...] = ("billing", "bug", "account", "feature_request", "shipping", "other")
TRIAGE_URGENCIES: tuple[str, ...] = ("low", "medium", "high")
TRIAGE_NEXT_ACTIONS: tuple[str, ...] = (
    "refund",
    "escalate_engineering",
    "reset_password",
    "reply_with_docs",
    "forward_to_sales",
    "track_package",
)
TRANSLATE_LANGUAGES: tuple[str, ...] = ("es", "fr", "de", "it", "pt", "nl", "sv", "id", "ja")
REDACTION_TAGS: tuple[str, ...] = ("NAME", "EMAIL", "PHONE", "ADDRESS", "CARD")


def _enum(values: tuple[str, ...]) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


# Each template's answer as a JSON schema, keys in the order the training answers write them: for
# constrained decoding (`response_format`), so a categorical field can only take one of its classes.
ANSWER_SCHEMAS: dict[str, dict[str, Any]] = {
    "triage": _object(
        {
            "category": _enum(TRIAGE_CATEGORIES),
            "urgency": _enum(TRIAGE_URGENCIES),
            "summary": {"type": "string"},
            "next_action": _enum(TRIAGE_NEXT_ACTIONS),
        }
    ),
    "translate": _object({"translation": {"type": "string"}, "detected_language": _enum(TRANSLATE_LANGUAGES)}),
    "redaction": _object(
        {
            "redacted": {"type": "string"},
            "count": {"type": "integer", "minimum": 0},
            "tags": {"type": "array", "items": _enum(REDACTION_TAGS)},
        }
    ),
}


def answer_response_format(template: str) -> dict[str, Any]:
    """The OpenAI `response_format` that constrains an answer to `template`'s schema."""
    _check_template(template)
    return {
        "type": "json_schema",
        "json_schema": {"name": template, "schema": ANSWER_SCHEMAS[template], "strict": True},
    }


def task_presets() -> TaskPresetList:
    """Each template's preset: the system prompt its data trains with, its answer schema as a
    `response_format`, and the first held-out user message as an example."""
    from arkor.protocol import TaskPreset, TaskPresetList

    presets = []
    for template in TEMPLATE_NAMES:
        first = load_rows(template, "eval")[0]["messages"]
        presets.append(
            TaskPreset(
                template=template,
                system_prompt=next(m["content"] for m in first if m["role"] == "system"),
                response_format=answer_response_format(template),
                example=next(m["content"] for m in first if m["role"] == "user"),
            )
        )
    return TaskPresetList(presets=presets)


_TEMPLATES_ROOT = Path(__file__).resolve().parent
_PUNCTUATION = str.maketrans("", "", string.punctuation + "¿¡")
_JSON_DECODER = json.JSONDecoder()


def _check_template(template: str) -> None:
    if template not in TEMPLATE_NAMES:
        raise ConfigError(
            f"unknown template {template!r}; templates with datasets: {', '.join(TEMPLATE_NAMES)}",
            field="template",
        )


def data_dir(template: str) -> Path:
    """Folder holding ``train.jsonl`` and ``eval.jsonl`` for ``template`` (inside the package)."""
    _check_template(template)
    return _TEMPLATES_ROOT / template / "data"


def load_rows(template: str, split: str) -> list[dict[str, Any]]:
    """Parsed chat rows (``{"messages": [...]}``) of ``split``: "train", "eval" (generated, held
    out), or "handwritten" (written by hand in words the generator never uses; never trained on)."""
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}", field="split")
    path = data_dir(template) / f"{split}.jsonl"
    rows = []
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    f"{path}:{line_number}: not valid JSON ({exc.msg}); "
                    "regenerate with scripts/make_template_data.py"
                    + (" (handwritten.jsonl is edited by hand)" if split == "handwritten" else "")
                ) from None
    return rows


def load_eval_rows(template: str, split: str = "eval") -> list[dict[str, Any]]:
    """The held-out rows of ``template`` (``split`` "eval" or "handwritten"); the last message of
    each is the expected answer."""
    return load_rows(template, split)


def extract_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object found in ``text`` (models often wrap it in prose or fences)."""
    if not isinstance(text, str):
        return None
    start = text.find("{")
    while start != -1:
        try:
            value, _ = _JSON_DECODER.raw_decode(text, start)
        except (json.JSONDecodeError, RecursionError):
            value = None
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    return None


def _normalise_translation(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return " ".join(value.lower().translate(_PUNCTUATION).split())


def _normalise_spaces(value: Any) -> str | None:
    return " ".join(value.split()) if isinstance(value, str) else None


def _field_matches(field: str, predicted: Any, expected: Any) -> bool:
    if field == "translation":
        return _normalise_translation(predicted) == _normalise_translation(expected)
    if field == "redacted":
        return _normalise_spaces(predicted) == _normalise_spaces(expected)
    if field == "count":
        # bool is an int subclass; True must not pass for 1.
        return isinstance(predicted, int) and not isinstance(predicted, bool) and predicted == expected
    if field == "tags":
        if not isinstance(predicted, list) or not all(isinstance(tag, str) for tag in predicted):
            return False
        return sorted(predicted) == sorted(expected)
    return isinstance(predicted, str) and predicted.strip() == expected


def score_prediction(template: str, predicted_text: str, expected_text: str) -> dict[str, bool]:
    """Per-field exact-match flags (plus ``valid_json``) of one model answer.

    ``expected_text`` is the reference assistant message of an eval row and must parse; the
    prediction may be anything.
    """
    _check_template(template)
    expected = extract_json_object(expected_text)
    if expected is None:
        raise ConfigError(f"expected answer is not a JSON object: {expected_text[:80]!r}", field="expected_text")
    predicted = extract_json_object(predicted_text)
    scores: dict[str, Any] = {VALID_JSON: predicted is not None}
    for field in SCORED_FIELDS[template]:
        scores[field] = (
            predicted is not None
            and field in predicted
            and _field_matches(field, predicted[field], expected.get(field))
        )
    if template == "translate":
        from .chrf import sentence_chrf

        guess = predicted.get("translation") if predicted is not None else None
        reference = expected.get("translation")
        scores[TRANSLATION_CHRF] = (
            sentence_chrf(guess, reference) / 100.0 if isinstance(guess, str) and isinstance(reference, str) else 0.0
        )
    return scores


def score_answer(scorer: str, predicted_text: str, expected_text: str) -> dict[str, Any]:
    """Per-field scores of one answer under `scorer` (one of `SCORER_NAMES`): bools for exact
    fields, floats in 0..1 for `GRADED_FIELDS`; `valid_json` is left out."""
    if scorer in TEMPLATE_NAMES:
        scores = score_prediction(scorer, predicted_text, expected_text)
        scores.pop(VALID_JSON)
        return scores
    if scorer == "json_fields":
        expected = extract_json_object(expected_text)
        if expected is not None:
            predicted = extract_json_object(predicted_text) or {}
            return {key: key in predicted and predicted[key] == value for key, value in expected.items()}
    elif scorer != "exact":
        raise ConfigError(f"unknown scorer {scorer!r}; use one of {', '.join(SCORER_NAMES)}", field="eval_scorer")
    return {"answer": isinstance(predicted_text, str) and predicted_text.strip() == expected_text.strip()}


def all_exact(scores: dict[str, Any]) -> bool:
    """Whether every exact field of one row's scores is right (graded scores and valid_json aside)."""
    return all(bool(v) for k, v in scores.items() if k not in GRADED_FIELDS and k != VALID_JSON)


def summarize(scores: list[dict[str, bool]]) -> dict[str, float]:
    """Per-field accuracy over rows (the mean score for graded fields), plus ``exact_fields``: the
    mean accuracy of the exact fields (``valid_json`` and graded scores excluded), and ``all_exact``:
    the share of rows with every exact field right. An empty list gives ``{"exact_fields": 0.0}``."""
    fields: list[str] = []
    for row in scores:
        fields.extend(f for f in row if f not in fields)
    summary = {f: sum(float(row.get(f) or 0) for row in scores) / len(scores) for f in fields}
    exact = [value for name, value in summary.items() if name != VALID_JSON and name not in GRADED_FIELDS]
    summary[EXACT_FIELDS] = sum(exact) / len(exact) if exact else 0.0
    if scores:
        summary[ALL_EXACT] = sum(all_exact(row) for row in scores) / len(scores)
    return summary

"""The committed template datasets: shape, allowed labels, balance, and a genuinely held-out eval."""

from __future__ import annotations

import collections
import importlib.resources
import json
import re

import pytest

from arkor.templates.scoring import (
    REDACTION_TAGS,
    TEMPLATE_NAMES,
    TRANSLATE_LANGUAGES,
    TRIAGE_CATEGORIES,
    TRIAGE_NEXT_ACTIONS,
    TRIAGE_URGENCIES,
    data_dir,
    load_eval_rows,
    load_rows,
)

TRIAGE_LABELS = {
    "category": set(TRIAGE_CATEGORIES),
    "urgency": set(TRIAGE_URGENCIES),
    "next_action": set(TRIAGE_NEXT_ACTIONS),
}
LANGUAGES = set(TRANSLATE_LANGUAGES)
PII_TAGS = REDACTION_TAGS
PLACEHOLDER = re.compile(r"\[(NAME|EMAIL|PHONE|ADDRESS|CARD)\]")
EXPECTED_KEYS = {
    "triage": ["category", "urgency", "summary", "next_action"],
    "translate": ["translation", "detected_language"],
    "redaction": ["redacted", "count", "tags"],
}


def answers(template: str, split: str) -> list[dict]:
    return [json.loads(row["messages"][2]["content"]) for row in load_rows(template, split)]


def user_texts(template: str, split: str) -> list[str]:
    return [row["messages"][1]["content"] for row in load_rows(template, split)]


@pytest.mark.parametrize("template", TEMPLATE_NAMES)
@pytest.mark.parametrize("split", ["train", "eval", "handwritten"])
def test_every_line_is_a_three_turn_chat_with_one_system_prompt(template, split):
    path = data_dir(template) / f"{split}.jsonl"
    system_prompts = set()
    for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        row = json.loads(line)
        assert list(row) == ["messages"], f"{path}:{line_number}"
        roles = [m["role"] for m in row["messages"]]
        assert roles == ["system", "user", "assistant"], f"{path}:{line_number}"
        assert all(isinstance(m["content"], str) and m["content"].strip() for m in row["messages"])
        system_prompts.add(row["messages"][0]["content"])
        answer = json.loads(row["messages"][2]["content"])
        assert list(answer) == EXPECTED_KEYS[template], f"{path}:{line_number}"
    assert len(system_prompts) == 1


@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_sizes_and_system_prompt_shared_between_splits(template):
    train, held_out = load_rows(template, "train"), load_eval_rows(template)
    assert 600 <= len(train) <= 1000
    assert 50 <= len(held_out) <= 80
    assert train[0]["messages"][0] == held_out[0]["messages"][0]


@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_eval_rows_never_repeat_training_rows(template):
    train = set(user_texts(template, "train"))
    held_out = user_texts(template, "eval")
    assert not train & set(held_out)
    assert len(set(held_out)) == len(held_out)
    assert len(train) == len(user_texts(template, "train"))


@pytest.mark.parametrize("split", ["train", "eval", "handwritten"])
def test_triage_labels_allowed_and_every_class_present(split):
    rows = answers("triage", split)
    for field, allowed in TRIAGE_LABELS.items():
        counts = collections.Counter(row[field] for row in rows)
        assert set(counts) == allowed, field
        # Not degenerate: no single label dominates a generated field (the hand-written file is
        # small and follows how tickets read, where most carry no urgency cue).
        assert max(counts.values()) / len(rows) < (0.6 if split == "handwritten" else 0.5), (field, counts)
    assert all(1 <= len(row["summary"].split()) <= 10 for row in rows)


@pytest.mark.parametrize("split", ["train", "eval", "handwritten"])
def test_translate_languages_allowed_and_all_present(split):
    rows = answers("translate", split)
    assert {row["detected_language"] for row in rows} == LANGUAGES
    assert all(row["translation"].isascii() and row["translation"].strip() for row in rows)


@pytest.mark.parametrize("split", ["train", "eval", "handwritten"])
def test_redaction_answers_are_self_consistent(split):
    rows = load_rows("redaction", split)
    tag_counts: collections.Counter[str] = collections.Counter()
    counts = collections.Counter()
    for row in rows:
        text, answer = row["messages"][1]["content"], json.loads(row["messages"][2]["content"])
        found = PLACEHOLDER.findall(answer["redacted"])
        assert answer["count"] == len(found)
        assert answer["tags"] == list(dict.fromkeys(found))  # unique, in order of appearance
        assert "@" not in answer["redacted"]
        if not found:
            assert answer["redacted"] == text
        tag_counts.update(answer["tags"])
        counts[answer["count"]] += 1
    assert set(tag_counts) == set(PII_TAGS)
    assert 0 in counts and len(counts) >= 3


def _template_regex(template_text: str) -> re.Pattern[str]:
    parts = re.split(r"\{[A-Za-z]+\}", template_text)
    return re.compile(".+?".join(re.escape(p) for p in parts), re.IGNORECASE)


def test_triage_eval_uses_phrasings_and_cues_never_trained_on(generator):
    unseen = [_template_regex(text) for *_, eval_only in generator.TRIAGE_INTENTS.values() for text, _ in eval_only]
    train, held_out = user_texts("triage", "train"), user_texts("triage", "eval")
    assert not [t for t in train if any(p.search(t) for p in unseen)]
    assert sum(any(p.search(t) for p in unseen) for t in held_out) >= 15
    eval_only_cues = [cues[-1].lower() for cues in generator.URGENCY_CUES.values()]
    assert not [t for t in train if any(c in t.lower() for c in eval_only_cues)]
    assert any(any(c in t.lower() for c in eval_only_cues) for t in held_out)


def test_train_only_paraphrases_are_trained_on_and_never_evaluated(generator):
    """The paraphrases widen training only; the eval split keeps to the core and eval-only phrasings."""
    triage = [_template_regex(text) for extra in generator.TRIAGE_PARAPHRASES.values() for text, _ in extra]
    train, held_out = user_texts("triage", "train"), user_texts("triage", "eval")
    assert sum(any(p.search(t) for p in triage) for t in train) >= len(train) // 3
    assert not [t for t in held_out if any(p.search(t) for p in triage)]
    core_cues = {cue.lower() for cues in generator.URGENCY_CUES.values() for cue in cues if cue}
    extra_cues = {cue.lower() for cues in generator.URGENCY_PARAPHRASES.values() for cue in cues if cue}
    assert not core_cues & extra_cues
    assert not [t for t in held_out if any(c in t.lower() for c in extra_cues)]
    redaction = [_template_regex(t) for t in generator.REDACTION_PARAPHRASES]
    train, held_out = user_texts("redaction", "train"), user_texts("redaction", "eval")
    assert sum(any(p.fullmatch(t) for p in redaction) for t in train) >= len(train) // 3
    assert not [t for t in held_out if any(p.fullmatch(t) for p in redaction)]


def test_translate_eval_has_sentences_never_trained_on(generator):
    unseen_english = [phrase[0] for phrase in generator.EVAL_ONLY_PHRASES]
    train = [row["translation"] for row in answers("translate", "train")]
    held_out = [row["translation"] for row in answers("translate", "eval")]
    assert not [t for t in train if any(s in t for s in unseen_english)]
    assert sum(any(s in t for s in unseen_english) for t in held_out) >= 15


def test_redaction_eval_has_templates_never_trained_on(generator):
    unseen = [_template_regex(t) for t in generator.EVAL_ONLY_REDACTION_TEMPLATES]
    train, held_out = user_texts("redaction", "train"), user_texts("redaction", "eval")
    assert not [t for t in train if any(p.fullmatch(t) for p in unseen)]
    assert sum(any(p.fullmatch(t) for p in unseen) for t in held_out) >= 15


@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_data_ships_as_package_resources(template):
    folder = importlib.resources.files("arkor.templates").joinpath(template, "data")
    assert folder.joinpath("train.jsonl").is_file()
    assert folder.joinpath("eval.jsonl").is_file()


@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_handwritten_rows_are_not_generator_output(template, generator):
    """The hand-written file measures generalisation: none of its texts come from a generator
    template (of either split) and none repeat a generated row."""
    handwritten = user_texts(template, "handwritten")
    assert 20 <= len(handwritten) == len(set(handwritten))
    generated = set(user_texts(template, "train")) | set(user_texts(template, "eval"))
    assert not generated & set(handwritten)
    if template == "triage":
        patterns = [
            _template_regex(text)
            for *_, train, eval_only in generator.TRIAGE_INTENTS.values()
            for text, _ in train + eval_only
        ] + [_template_regex(text) for extra in generator.TRIAGE_PARAPHRASES.values() for text, _ in extra]
        assert not [t for t in handwritten if any(p.search(t) for p in patterns)]
    elif template == "redaction":
        templates = (
            generator.REDACTION_TEMPLATES + generator.REDACTION_PARAPHRASES + generator.EVAL_ONLY_REDACTION_TEMPLATES
        )
        patterns = [_template_regex(t) for t in templates]
        assert not [t for t in handwritten if any(p.fullmatch(t) for p in patterns)]
    else:
        phrases = {p[0] for p in generator.PHRASES + generator.EVAL_ONLY_PHRASES}
        assert not [row for row in answers("translate", "handwritten") if row["translation"] in phrases]

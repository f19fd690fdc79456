"""Rendering with the chat template, response-only masking, max_length policy and prepare_dataset,
with the tiny test model's tokenizer (SmolLM2's tokenizer and ChatML template)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arkor.engine.data import (
    IGNORE_INDEX,
    SourceRow,
    TokenizedExample,
    prepare_dataset,
    tokenize_rows,
)
from arkor.engine.data.render import tokenize_chat
from arkor.errors import ConfigError, DatasetValidationError
from arkor.protocol import JobConfig


@pytest.fixture(scope="module")
def tokenizer():
    from arkor.engine.models import load_tokenizer

    return load_tokenizer("arkor/tiny-test")


def _labelled_text(tokenizer, example_ids: list[int], labels: list[int]) -> list[str]:
    """The decoded runs of consecutive labelled tokens."""
    runs: list[list[int]] = []
    previous = IGNORE_INDEX
    for token, label in zip(example_ids, labels):
        if label != IGNORE_INDEX:
            if previous == IGNORE_INDEX:
                runs.append([])
            runs[-1].append(token)
        previous = label
    return [tokenizer.decode(run) for run in runs]


CONVERSATION = [
    {"role": "system", "content": "You triage tickets."},
    {"role": "user", "content": "My invoice is wrong."},
    {"role": "assistant", "content": '{"category": "billing"}'},
    {"role": "user", "content": "And it is urgent!"},
    {"role": "assistant", "content": "Marked urgent."},
]


def test_only_assistant_turns_and_their_end_of_turn_are_labelled(tokenizer) -> None:
    ids, labels = tokenize_chat(tokenizer, CONVERSATION, train_on_responses_only=True)
    assert len(ids) == len(labels)
    assert _labelled_text(tokenizer, ids, labels) == ['{"category": "billing"}<|im_end|>', "Marked urgent.<|im_end|>"]
    # Labels are the token ids themselves where not masked.
    assert all(label in (IGNORE_INDEX, token) for token, label in zip(ids, labels))
    # The ids are the conversation as the template renders it.
    assert tokenizer.decode(ids) == tokenizer.apply_chat_template(CONVERSATION, tokenize=False)


def test_prompt_tokens_match_what_inference_sees(tokenizer) -> None:
    ids, labels = tokenize_chat(tokenizer, CONVERSATION[:3], train_on_responses_only=True)
    first_label = next(index for index, label in enumerate(labels) if label != IGNORE_INDEX)
    prompt = tokenizer.apply_chat_template(CONVERSATION[:2], tokenize=False, add_generation_prompt=True)
    assert ids[:first_label] == tokenizer(prompt, add_special_tokens=False)["input_ids"]


def test_without_responses_only_everything_is_labelled(tokenizer) -> None:
    ids, labels = tokenize_chat(tokenizer, CONVERSATION, train_on_responses_only=False)
    assert labels == ids


def _rows(*datas: dict) -> list[SourceRow]:
    return [SourceRow(line=index + 1, data=data) for index, data in enumerate(datas)]


def test_prompt_completion_and_alpaca_render_as_chat(tokenizer) -> None:
    (pc,) = tokenize_rows(
        _rows({"prompt": "2+2?", "completion": "4"}),
        "prompt_completion",
        tokenizer,
        train_on_responses_only=True,
        max_length=512,
        source_label="d",
    ).examples
    assert "<|im_start|>user\n2+2?<|im_end|>" in tokenizer.decode(pc.input_ids)
    assert _labelled_text(tokenizer, pc.input_ids, pc.labels) == ["4<|im_end|>"]
    (al,) = tokenize_rows(
        _rows({"instruction": "Add", "input": "2 and 2", "output": "4"}),
        "alpaca",
        tokenizer,
        train_on_responses_only=True,
        max_length=512,
        source_label="d",
    ).examples
    assert "<|im_start|>user\nAdd\n\n2 and 2<|im_end|>" in tokenizer.decode(al.input_ids)
    assert _labelled_text(tokenizer, al.input_ids, al.labels) == ["4<|im_end|>"]


def test_text_rows_are_plain_tokens_plus_eos_all_labelled(tokenizer) -> None:
    (example,) = tokenize_rows(
        _rows({"text": "Once upon a time"}),
        "text",
        tokenizer,
        train_on_responses_only=False,
        max_length=512,
        source_label="d",
    ).examples
    assert example.input_ids[-1] == tokenizer.eos_token_id
    assert tokenizer.decode(example.input_ids[:-1]) == "Once upon a time"
    assert example.labels == example.input_ids and example.line == 1


def test_responses_only_on_text_is_an_all_masked_error(tokenizer) -> None:
    with pytest.raises(DatasetValidationError, match="every label would be masked"):
        tokenize_rows(
            _rows({"text": "t"}), "text", tokenizer, train_on_responses_only=True, max_length=64, source_label="d"
        )


def test_chat_rows_need_a_chat_template(tokenizer) -> None:
    class NoTemplate:
        chat_template = None

    with pytest.raises(ConfigError, match="no chat template"):
        tokenize_rows(
            _rows({"prompt": "p", "completion": "c"}),
            "prompt_completion",
            NoTemplate(),
            train_on_responses_only=True,
            max_length=64,
            source_label="d",
        )


# ------------------------------------------------------------------------------------ prepare_dataset


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def _config(**fields) -> JobConfig:
    return JobConfig.model_validate(
        {"model": "arkor/tiny-test", "datasetSource": {"type": "file", "path": "data/d.jsonl"}, **fields}
    )


def _chat_row(index: int, answer_words: int = 3) -> dict:
    return {
        "messages": [
            {"role": "user", "content": f"Question {index}?"},
            {"role": "assistant", "content": " ".join(["answer"] * answer_words) + f" {index}"},
        ]
    }


def test_prepare_reports_bad_rows_with_file_and_line_before_tokenizing(tokenizer, tmp_path: Path) -> None:
    rows = [_chat_row(i) for i in range(20)]
    rows[16]["messages"][1]["role"] = "bot"
    _write(tmp_path / "data" / "d.jsonl", rows)
    with pytest.raises(DatasetValidationError) as caught:
        prepare_dataset(_config(), tokenizer, base_dir=tmp_path)
    message = str(caught.value)
    assert "data/d.jsonl:17: messages[1].role must be one of system, user, assistant, tool (got 'bot')" in message
    assert "data/d.jsonl:17: messages must contain at least one assistant turn" in message


def test_prepare_holds_out_a_seeded_eval_split(tokenizer, tmp_path: Path) -> None:
    _write(tmp_path / "data" / "d.jsonl", [_chat_row(i) for i in range(40)])
    first = prepare_dataset(_config(evalSteps=5, seed=3), tokenizer, base_dir=tmp_path)
    again = prepare_dataset(_config(evalSteps=5, seed=3), tokenizer, base_dir=tmp_path)
    other = prepare_dataset(_config(evalSteps=5, seed=4), tokenizer, base_dir=tmp_path)
    assert (len(first.train), len(first.eval)) == (36, 4)
    assert [e.line for e in first.eval] == [e.line for e in again.eval] != [e.line for e in other.eval]
    assert sorted(e.line for e in first.train + first.eval) == list(range(1, 41))
    assert first.format == "messages" and first.rows == 40 and first.source_label == "data/d.jsonl"
    no_eval = prepare_dataset(_config(), tokenizer, base_dir=tmp_path)
    assert (len(no_eval.train), len(no_eval.eval)) == (40, 0)
    stats = no_eval.stats
    assert stats["train_on_responses_only"] is True and stats["truncated_rows"] == 0
    assert 0 < stats["train_labelled_tokens"] < stats["train_tokens"]
    json.dumps(stats)


def test_dry_run_caps_rows_and_format_override_applies(tokenizer, tmp_path: Path) -> None:
    _write(tmp_path / "data" / "d.jsonl", [{"text": f"row {i}", "messages": "ignored"} for i in range(80)])
    prepared = prepare_dataset(_config(dryRun=True, datasetFormat={"type": "text"}), tokenizer, base_dir=tmp_path)
    assert prepared.format == "text" and prepared.rows == 80 and len(prepared.train) == 50
    assert prepared.stats["train_on_responses_only"] is False


def test_long_rows_are_truncated_and_counted(tokenizer, tmp_path: Path) -> None:
    rows = [_chat_row(i) for i in range(10)] + [_chat_row(10, answer_words=200)]
    _write(tmp_path / "data" / "d.jsonl", rows)
    prepared = prepare_dataset(_config(maxLength=64), tokenizer, base_dir=tmp_path)
    assert prepared.stats["truncated_rows"] == 1 and prepared.stats["dropped_rows"] == 0
    long_one = next(e for e in prepared.train if e.line == 11)
    assert len(long_one.input_ids) == 64 and long_one.num_labels > 0


def test_rows_losing_all_labels_to_truncation_are_an_error_naming_lines(tokenizer, tmp_path: Path) -> None:
    long_prompt = {"messages": [{"role": "user", "content": "word " * 200}, {"role": "assistant", "content": "ok"}]}
    _write(tmp_path / "data" / "d.jsonl", [_chat_row(i) for i in range(8)] + [long_prompt, long_prompt])
    with pytest.raises(DatasetValidationError) as caught:
        prepare_dataset(_config(maxLength=64), tokenizer, base_dir=tmp_path)
    message = str(caught.value)
    assert "2 of 10 row(s) would have no labelled token left after truncation to max_length=64" in message
    assert "data/d.jsonl:9: row is " in message and "data/d.jsonl:10: row is " in message


def test_a_few_rows_losing_all_labels_are_dropped_and_counted(tokenizer, tmp_path: Path) -> None:
    long_prompt = {"messages": [{"role": "user", "content": "word " * 200}, {"role": "assistant", "content": "ok"}]}
    _write(tmp_path / "data" / "d.jsonl", [_chat_row(i) for i in range(40)] + [long_prompt])
    prepared = prepare_dataset(_config(maxLength=64), tokenizer, base_dir=tmp_path)
    assert prepared.stats["dropped_rows"] == 1 and len(prepared.train) == 40
    assert 41 not in [example.line for example in prepared.train]


def test_everything_masked_is_an_error_not_a_silent_zero_loss(tokenizer, tmp_path: Path) -> None:
    long_prompt = {"messages": [{"role": "user", "content": "word " * 200}, {"role": "assistant", "content": "ok"}]}
    _write(tmp_path / "data" / "d.jsonl", [long_prompt] * 3)
    with pytest.raises(DatasetValidationError, match="every label is masked"):
        prepare_dataset(_config(maxLength=32), tokenizer, base_dir=tmp_path)


def test_template_dataset_prepares_with_little_padding(tokenizer) -> None:
    import arkor

    data = Path(arkor.__file__).parent / "templates" / "triage" / "data" / "train.jsonl"
    if not data.is_file():
        pytest.skip("triage template data not present")
    prepared = prepare_dataset(
        JobConfig.model_validate(
            {"model": "arkor/tiny-test", "datasetSource": {"type": "file", "path": str(data)}, "batchSize": 8}
        ),
        tokenizer,
    )
    stats = prepared.stats
    assert stats["format"] == "messages" and stats["train_rows"] > 50
    assert stats["padding_fraction"] <= stats["padding_fraction_unsorted"]
    assert isinstance(prepared.train[0], TokenizedExample)


def _with_template(tokenizer, template: str):
    import copy

    clone = copy.deepcopy(tokenizer)
    clone.chat_template = template
    return clone


def test_masking_follows_the_models_template_gemma_turns(tokenizer) -> None:
    from arkor.engine.models import get_model_spec

    gemma_like = _with_template(tokenizer, get_model_spec("google/gemma-3-270m").chat_template)
    ids, labels = tokenize_chat(gemma_like, CONVERSATION, train_on_responses_only=True)
    assert _labelled_text(gemma_like, ids, labels) == [
        '{"category": "billing"}<end_of_turn>',
        "Marked urgent.<end_of_turn>",
    ]


def test_masking_falls_back_to_locating_content_when_prefixes_differ(tokenizer) -> None:
    # The last turn gets a trailer that earlier turns do not, so partial renderings are not prefixes
    # of the full one; the assistant content is then located in the rendering.
    template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% else %}[end of conversation]{% endif %}"
    )
    odd = _with_template(tokenizer, template)
    ids, labels = tokenize_chat(odd, CONVERSATION, train_on_responses_only=True)
    assert _labelled_text(odd, ids, labels) == ['{"category": "billing"}<|im_end|>', "Marked urgent.<|im_end|>"]

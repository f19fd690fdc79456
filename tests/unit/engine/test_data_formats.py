"""Dataset formats: detection, conversion to conversations, and validation messages (no tokenizer)."""

from __future__ import annotations

import pytest

from arkor.engine.data import SourceRow, canonical_format, detect_format, to_messages, validate_rows
from arkor.errors import ConfigError, DatasetValidationError

LABEL = "data/triage.jsonl"


def _rows(*datas: dict) -> list[SourceRow]:
    return [SourceRow(line=index + 1, data=data) for index, data in enumerate(datas)]


def _chat(*turns: tuple[str, object]) -> dict:
    return {"messages": [{"role": role, "content": content} for role, content in turns]}


def _issues(rows: list[SourceRow], fmt: str) -> list[str]:
    with pytest.raises(DatasetValidationError) as caught:
        validate_rows(rows, fmt, source_label=LABEL)
    return [str(issue) for issue in caught.value.issues]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (_chat(("user", "hi"), ("assistant", "yo")), "messages"),
        ({"prompt": "p", "completion": "c"}, "prompt_completion"),
        ({"instruction": "i", "input": "", "output": "o"}, "alpaca"),
        ({"instruction": "i", "output": "o", "text": "pre-rendered"}, "alpaca"),
        ({"text": "t", "id": 3}, "text"),
    ],
)
def test_detect_format_from_keys(data: dict, expected: str) -> None:
    assert detect_format(_rows(data)) == expected


def test_detection_follows_most_rows_not_just_the_first() -> None:
    rows = _rows({"txt": "typo"}, {"text": "a"}, {"text": "b"})
    assert detect_format(rows) == "text"


def test_unknown_keys_list_what_was_expected() -> None:
    with pytest.raises(DatasetValidationError) as caught:
        detect_format(_rows({"question": "q", "answer": "a"}), source_label=LABEL)
    assert str(caught.value.issues[0]) == (
        "data/triage.jsonl:1: cannot tell the dataset format from the keys (answer, question); expected "
        "`messages` (chat), `prompt` + `completion`, `instruction` + `output` (alpaca; `input` optional), "
        "or `text`. Rename the columns, or set dataset_format."
    )


def test_ambiguous_keys_are_an_error_naming_the_candidates() -> None:
    with pytest.raises(DatasetValidationError, match=r"match more than one format \(messages, prompt_completion\)"):
        detect_format(_rows({"messages": [], "prompt": "p", "completion": "c"}), source_label=LABEL)


def test_empty_dataset_is_an_error() -> None:
    with pytest.raises(DatasetValidationError, match="dataset has no rows"):
        detect_format([], source_label=LABEL)


def test_format_names_and_aliases() -> None:
    assert canonical_format("auto") is None and canonical_format(None) is None
    assert canonical_format("chatml") == "messages"
    assert canonical_format("alpaca") == "alpaca"
    with pytest.raises(ConfigError, match="dataset_format must be one of auto, chatml, messages") as caught:
        canonical_format("sharegpt")
    assert caught.value.field == "dataset_format"


def test_prompt_completion_and_alpaca_become_user_assistant_turns() -> None:
    assert to_messages({"prompt": "P", "completion": "C"}, "prompt_completion") == [
        {"role": "user", "content": "P"},
        {"role": "assistant", "content": "C"},
    ]
    assert to_messages({"instruction": "Do X", "input": "data", "output": "O"}, "alpaca") == [
        {"role": "user", "content": "Do X\n\ndata"},
        {"role": "assistant", "content": "O"},
    ]
    assert to_messages({"instruction": "Do X", "input": "  ", "output": "O"}, "alpaca")[0]["content"] == "Do X"


def test_messages_given_as_a_json_string_are_decoded() -> None:
    row = {"messages": '[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]'}
    validate_rows(_rows(row), "messages", source_label=LABEL)
    assert to_messages(row, "messages")[1] == {"role": "assistant", "content": "yo"}


def test_valid_rows_pass() -> None:
    validate_rows(
        _rows(_chat(("system", "s"), ("user", "u"), ("assistant", "a"), ("tool", "t"), ("assistant", "b"))),
        "messages",
        source_label=LABEL,
    )


def test_chat_validation_messages_name_file_line_and_field() -> None:
    rows = [SourceRow(line=line, data=_chat(("user", "u"), ("assistant", "a"))) for line in range(1, 17)]
    rows.append(SourceRow(line=17, data=_chat(("user", "u"), ("assistant", "a"), ("bot", "b"))))
    rows.append(SourceRow(line=18, data=_chat(("user", 42), ("assistant", "a"))))
    rows.append(SourceRow(line=19, data=_chat(("user", "only a question"))))
    rows.append(SourceRow(line=20, data=_chat(("user", "u"), ("assistant", "   "))))
    rows.append(SourceRow(line=21, data={"messages": "not a list"}))
    rows.append(SourceRow(line=22, data={"messages": [{"content": "no role"}, "x", {"role": "assistant"}]}))
    assert _issues(rows, "messages") == [
        "data/triage.jsonl:17: messages[2].role must be one of system, user, assistant, tool (got 'bot')",
        "data/triage.jsonl:18: messages[0].content must be a string (got number)",
        "data/triage.jsonl:19: messages must contain at least one assistant turn",
        "data/triage.jsonl:20: messages[1].content must not be empty in an assistant turn",
        "data/triage.jsonl:21: messages must be a list of {role, content} objects (got string)",
        "data/triage.jsonl:22: messages[0].role is missing",
        "data/triage.jsonl:22: messages[1] must be an object with role and content (got string)",
        "data/triage.jsonl:22: messages[2].content is missing",
    ]


def test_field_validation_for_the_other_formats() -> None:
    assert _issues(_rows({"prompt": "p"}, {"prompt": 1, "completion": ""}), "prompt_completion") == [
        "data/triage.jsonl:1: completion is missing",
        "data/triage.jsonl:2: prompt must be a string (got number)",
        "data/triage.jsonl:2: completion must not be empty",
    ]
    assert _issues(_rows({"instruction": "i", "input": 3, "output": "o"}), "alpaca") == [
        "data/triage.jsonl:1: input must be a string (got number)"
    ]
    assert _issues(_rows({"text": ""}, {"text": None}), "text") == [
        "data/triage.jsonl:1: text must not be empty",
        "data/triage.jsonl:2: text is missing",
    ]


def test_row_of_another_format_says_which_keys_it_has() -> None:
    assert _issues(_rows({"text": "t"}), "prompt_completion") == [
        "data/triage.jsonl:1: row has keys (text) but the dataset format is prompt_completion; expected "
        "`messages` (chat), `prompt` + `completion`, `instruction` + `output` (alpaca; `input` optional), or `text`"
    ]


def test_every_row_is_checked_but_the_message_lists_twenty() -> None:
    rows = [SourceRow(line=line, data={"text": ""}) for line in range(1, 31)]
    with pytest.raises(DatasetValidationError) as caught:
        validate_rows(rows, "text", source_label=LABEL)
    assert len(caught.value.issues) == 30
    message = str(caught.value)
    assert message.startswith("data/triage.jsonl: 30 problem(s) in 30 of 30 row(s)")
    assert "data/triage.jsonl:20: text must not be empty" in message
    assert "data/triage.jsonl:21:" not in message
    assert message.endswith("... and 10 more")

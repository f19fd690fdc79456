"""The dataset formats, how one is detected from a row's keys, and how a row becomes a conversation.

Formats (canonical names; `chatml` is the original's name for `messages`):

- `messages`: `{"messages": [{"role": "user", "content": "..."}, {"role": "assistant", ...}]}`
- `prompt_completion`: `{"prompt": "...", "completion": "..."}` -> one user turn, one assistant turn
- `alpaca`: `{"instruction": "...", "input": "...", "output": "..."}` (`input` optional) -> user turn
  `instruction` (+ blank line + `input`), assistant turn `output`
- `text`: `{"text": "..."}` -> plain language-model text, no chat template

Pure functions only (no tokenizer); rows are assumed validated before `to_messages` is called.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from arkor.errors import ConfigError, DatasetIssue, DatasetValidationError

FORMATS = ("messages", "prompt_completion", "alpaca", "text")
CHAT_FORMATS = frozenset({"messages", "prompt_completion", "alpaca"})
FORMAT_ALIASES = {
    "chatml": "messages",
    "chat": "messages",
    "conversational": "messages",
    "prompt-completion": "prompt_completion",
    "completion": "prompt_completion",
}

# The keys that identify each format; a row must have all of a format's keys to match it.
SIGNATURE_KEYS: dict[str, tuple[str, ...]] = {
    "messages": ("messages",),
    "prompt_completion": ("prompt", "completion"),
    "alpaca": ("instruction", "output"),
    "text": ("text",),
}
# How many leading rows format detection looks at.
DETECT_ROWS = 100
EXPECTED_KEYS_HINT = (
    "`messages` (chat), `prompt` + `completion`, `instruction` + `output` (alpaca; `input` optional), or `text`"
)


def canonical_format(name: str | None) -> str | None:
    """The canonical format for a user's `dataset_format` (None for "auto" or unset).

    Raises:
        ConfigError: an unknown name, listing the accepted ones.
    """
    if name is None or name == "auto":
        return None
    name = FORMAT_ALIASES.get(name, name)
    if name not in FORMATS:
        raise ConfigError(
            f"dataset_format must be one of auto, chatml, {', '.join(FORMATS)} (got {name!r})",
            field="dataset_format",
        )
    return name


def matching_formats(keys: Sequence[str]) -> list[str]:
    """The formats whose signature keys are all in `keys`, in FORMATS order."""
    present = set(keys)
    return [fmt for fmt in FORMATS if all(key in present for key in SIGNATURE_KEYS[fmt])]


def _row_formats(data: Any) -> list[str]:
    matches = matching_formats(list(data)) if isinstance(data, dict) else []
    if len(matches) > 1 and "text" in matches:
        matches.remove("text")
    return matches


def detect_format(rows: Sequence[Any], *, source_label: str | None = None) -> str:
    """The format of a dataset, from the keys of its rows (the first `DETECT_ROWS` are looked at and
    the format most of them match wins; rows that do not match are reported by validation).

    `text` alongside a structured format's keys (alpaca exports often carry a pre-rendered `text`)
    loses to the structured format; two structured formats in one row is ambiguous.

    Raises:
        DatasetValidationError: no rows, no format matches, or the match is ambiguous; the message
            lists the keys found and the keys expected, and says how to set `dataset_format`.
    """
    if not rows:
        raise DatasetValidationError(
            [DatasetIssue("dataset has no rows", path=source_label)], summary="Dataset is empty"
        )
    votes: dict[tuple[str, ...], int] = {}
    first_row_of: dict[tuple[str, ...], Any] = {}
    for row in rows[:DETECT_ROWS]:
        matches = tuple(_row_formats(getattr(row, "data", row)))
        votes[matches] = votes.get(matches, 0) + 1
        first_row_of.setdefault(matches, row)
    matched = {key: count for key, count in votes.items() if key}
    if matched:
        best = max(matched, key=lambda key: matched[key])
        if len(best) == 1:
            return best[0]
    else:
        best = ()
    example = first_row_of[best]
    data = getattr(example, "data", example)
    found = ", ".join(sorted(data)) if isinstance(data, dict) and data else "no keys"
    if not best:
        message = (
            f"cannot tell the dataset format from the keys ({found}); expected {EXPECTED_KEYS_HINT}. "
            "Rename the columns, or set dataset_format."
        )
    else:
        message = f"keys ({found}) match more than one format ({', '.join(best)}); set dataset_format to one of them."
    raise DatasetValidationError(
        [DatasetIssue(message, line=getattr(example, "line", None), path=source_label)],
        summary="Cannot detect the dataset format",
    )


def type_name(value: Any) -> str:
    """A JSON-ish name for a value's type, for messages ("got array", "got null")."""
    return {
        dict: "object",
        list: "array",
        str: "string",
        bool: "boolean",
        int: "number",
        float: "number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def parse_json_messages(value: Any) -> Any:
    """CSV cells (and some Parquet exports) hold `messages` as a JSON string; decode it if so."""
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def to_messages(data: dict[str, Any], fmt: str) -> list[dict[str, Any]]:
    """The conversation a validated chat-format row stands for (role/content dicts)."""
    if fmt == "messages":
        return [dict(message) for message in parse_json_messages(data["messages"])]
    if fmt == "prompt_completion":
        return [{"role": "user", "content": data["prompt"]}, {"role": "assistant", "content": data["completion"]}]
    if fmt == "alpaca":
        extra = data.get("input")
        prompt = (
            f"{data['instruction']}\n\n{extra}" if isinstance(extra, str) and extra.strip() else data["instruction"]
        )
        return [{"role": "user", "content": prompt}, {"role": "assistant", "content": data["output"]}]
    raise ValueError(f"format {fmt!r} has no conversation form")

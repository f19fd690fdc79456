"""Turning validated rows into token ids and labels with the model's tokenizer.

Chat-like rows (messages, prompt/completion, alpaca) are rendered with the tokenizer's chat template.
With `train_on_responses_only`, only the assistant turns are labelled: each assistant turn's content
*and its end-of-turn marker* (e.g. `<|im_end|>`), so the model learns to stop; everything else gets
label -100.

How the assistant spans are found: for assistant turn i, the template renders the conversation up to
turn i with the generation prompt (where the model starts writing) and up to the end of turn i; both
must be prefixes of the full rendering, and the span between them is the turn. Trailing whitespace
after the end-of-turn marker is not labelled (the model never generates it). Templates that render
history differently from the last turn break the prefix property; then the content is located in the
rendering and extended over the end-of-sequence marker when it follows.

The text is tokenized span by span (masked prefix, labelled turn, ...) rather than as one string, so the
token boundary where the assistant starts is exactly the one the model sees at inference (prompt
tokenized up to the generation prompt, then generated tokens).

`text` rows are tokenized plainly, an end-of-sequence token appended, every token labelled.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from arkor.errors import ConfigError, DatasetIssue, DatasetValidationError

from .formats import CHAT_FORMATS, to_messages
from .sources import SourceRow

logger = logging.getLogger(__name__)

IGNORE_INDEX = -100


@dataclass
class TokenizedExample:
    """One training example: token ids, labels aligned with them (-100 = not trained on; the model
    shifts them), and the source line it came from."""

    input_ids: list[int]
    labels: list[int]
    line: int | None = None

    @property
    def num_labels(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE_INDEX)


@dataclass
class TokenizedRows:
    """The examples of `tokenize_rows`, with what truncation did to them."""

    examples: list[TokenizedExample]
    truncated_lines: list[int] = field(default_factory=list)
    # (line, full length in tokens) of rows left with no labelled token (all of them cut off by truncation,
    # or none to begin with).
    unlabelled: list[tuple[int, int, str]] = field(default_factory=list)


def _render(tokenizer: Any, messages: list[dict[str, Any]], *, add_generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)


def assistant_spans(tokenizer: Any, messages: list[dict[str, Any]]) -> tuple[str, list[tuple[int, int]]]:
    """The full rendering of `messages` and the character spans of its assistant turns
    (content through the end-of-turn marker)."""
    full = _render(tokenizer, messages, add_generation_prompt=False)
    spans: list[tuple[int, int]] = []
    cursor = 0
    for index, message in enumerate(messages):
        if message.get("role") != "assistant":
            continue
        span = _span_by_prefixes(tokenizer, messages, index, full)
        if span is None or span[0] < cursor:
            span = _span_by_search(tokenizer, message, full, cursor)
        if span is None:
            continue
        spans.append(span)
        cursor = span[1]
    return full, spans


def _span_by_prefixes(tokenizer: Any, messages: list[dict[str, Any]], index: int, full: str) -> tuple[int, int] | None:
    try:
        before = _render(tokenizer, messages[:index], add_generation_prompt=True) if index else None
        through = _render(tokenizer, messages[: index + 1], add_generation_prompt=False)
    except Exception:  # some templates refuse partial conversations (e.g. must end with a user turn)
        return None
    if before is None or not full.startswith(before) or not full.startswith(through):
        return None
    end = len(through.rstrip())
    return (len(before), end) if end > len(before) else None


def _span_by_search(tokenizer: Any, message: dict[str, Any], full: str, cursor: int) -> tuple[int, int] | None:
    content = message.get("content") or ""
    if not content:
        return None
    start = full.find(content, cursor)
    if start < 0:
        return None
    end = start + len(content)
    for marker in _end_markers(tokenizer):
        if full.startswith(marker, end):
            end += len(marker)
            break
    return start, end


def _end_markers(tokenizer: Any) -> list[str]:
    markers = [tokenizer.eos_token] if getattr(tokenizer, "eos_token", None) else []
    return markers + [m for m in ("<|im_end|>", "<end_of_turn>", "<|eot_id|>", "<|end|>") if m not in markers]


def _encode(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"]) if text else []


def tokenize_chat(tokenizer: Any, messages: list[dict[str, Any]], *, train_on_responses_only: bool) -> tuple[list[int], list[int]]:
    """(input_ids, labels) of one conversation."""
    full, spans = assistant_spans(tokenizer, messages)
    ids: list[int] = []
    labels: list[int] = []
    position = 0
    for start, end in [*spans, (len(full), len(full))]:
        masked = _encode(tokenizer, full[position:start])
        ids += masked
        labels += masked if not train_on_responses_only else [IGNORE_INDEX] * len(masked)
        answer = _encode(tokenizer, full[start:end])
        ids += answer
        labels += answer
        position = end
    return ids, labels


def tokenize_text(tokenizer: Any, text: str) -> tuple[list[int], list[int]]:
    """(input_ids, labels) of plain text: the tokenizer's own special tokens, then end-of-sequence."""
    ids = list(tokenizer(text)["input_ids"])
    eos = tokenizer.eos_token_id
    if eos is not None and (not ids or ids[-1] != eos):
        ids.append(eos)
    return ids, list(ids)


def tokenize_rows(
    rows: Sequence[SourceRow],
    fmt: str,
    tokenizer: Any,
    *,
    train_on_responses_only: bool,
    max_length: int,
    source_label: str,
) -> TokenizedRows:
    """Tokenize validated rows, truncating to `max_length` and recording what truncation cost.

    Raises:
        ConfigError: a chat format with a tokenizer that has no chat template.
        DatasetValidationError: `train_on_responses_only` with the `text` format (nothing would be labelled).
    """
    if fmt in CHAT_FORMATS and not getattr(tokenizer, "chat_template", None):
        raise ConfigError(
            f"the model's tokenizer has no chat template, so {fmt} rows cannot be rendered; "
            "use a chat model or a dataset in the text format",
            field="model",
        )
    if fmt == "text" and train_on_responses_only:
        raise DatasetValidationError(
            [DatasetIssue("train_on_responses_only is set, but text rows have no assistant turns, so every "
                          "label would be masked; set train_on_responses_only to false or use a chat format",
                          path=source_label, field="train_on_responses_only")],
            summary="Every label would be masked",
        )
    result = TokenizedRows(examples=[])
    for row in rows:
        if fmt == "text":
            ids, labels = tokenize_text(tokenizer, row.data["text"])
        else:
            ids, labels = tokenize_chat(tokenizer, to_messages(row.data, fmt),
                                        train_on_responses_only=train_on_responses_only)
        full_length = len(ids)
        had_labels = any(label != IGNORE_INDEX for label in labels)
        if full_length > max_length:
            ids, labels = ids[:max_length], labels[:max_length]
            result.truncated_lines.append(row.line)
        example = TokenizedExample(input_ids=ids, labels=labels, line=row.line)
        if example.num_labels == 0:
            reason = "truncated" if had_labels else "no labelled tokens"
            result.unlabelled.append((row.line, full_length, reason))
        result.examples.append(example)
    return result

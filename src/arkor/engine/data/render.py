"""Turning validated rows into token ids and labels with the model's tokenizer.

Chat-like rows (messages, prompt/completion, alpaca) are rendered with the tokenizer's chat template.
With `train_on_responses_only`, only the assistant turns are labelled: each assistant turn's content
*and its end-of-turn marker* (e.g. `<|im_end|>`), so the model learns to stop; everything else gets
label -100.

How the assistant spans are found: the template's end-of-turn marker is found once by rendering a
probe conversation (`turn_end_marker`). For assistant turn i, the span starts where the rendering of
turns < i with the generation prompt ends (where the model starts writing at inference), if that
rendering is a prefix of the full one; otherwise (templates that render history differently) where the
content is found. It ends after the content and the end-of-turn marker that follows it. Whitespace the
template writes after the marker is not labelled (the model never generates it: generation stops at
the marker), nor is anything a template appends only after the final turn.

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


_SENTINEL = "\u2063arkor-turn-probe\u2063"
_KNOWN_END_MARKERS = ("<|im_end|>", "<end_of_turn>", "<|eot_id|>", "<|end|>", "<turn|>", "</s>", "<|endoftext|>")


def turn_end_marker(tokenizer: Any) -> str:
    """The text the template puts right after an assistant turn's content (`<|im_end|>` for ChatML,
    `<end_of_turn>` for Gemma), without trailing whitespace; "" if the template has none.

    Found by rendering a probe conversation with the assistant turn last and not last: what follows
    the content in both renderings (their common prefix) is the turn's own ending, not something the
    template adds only after the final message or only before the next turn.
    """
    probe = [
        {"role": "user", "content": "?"},
        {"role": "assistant", "content": _SENTINEL},
        {"role": "user", "content": "?"},
    ]
    try:
        last = _render(tokenizer, probe[:2], add_generation_prompt=False)
        middle = _render(tokenizer, probe, add_generation_prompt=False)
    except Exception:  # a template that rejects the probe: fall back to the tokenizer's eos
        return getattr(tokenizer, "eos_token", None) or ""
    at = last.find(_SENTINEL)
    if at < 0 or middle.find(_SENTINEL) != at:
        return getattr(tokenizer, "eos_token", None) or ""
    after_last, after_middle = last[at + len(_SENTINEL) :], middle[at + len(_SENTINEL) :]
    common = 0
    while common < min(len(after_last), len(after_middle)) and after_last[common] == after_middle[common]:
        common += 1
    marker = after_last[:common].strip()
    # A common prefix may run a character into whatever follows; trust it only when it ends a known
    # end marker or the eos token, else cut it back to the longest such marker it starts with.
    candidates = [m for m in (getattr(tokenizer, "eos_token", None), *_KNOWN_END_MARKERS) if m]
    if marker and not any(marker.endswith(m) for m in candidates):
        marker = max((m for m in candidates if marker.startswith(m)), key=len, default=marker)
    return marker


def assistant_spans(
    tokenizer: Any,
    messages: list[dict[str, Any]],
    *,
    end_marker: str | None = None,
) -> tuple[str, list[tuple[int, int]]]:
    """The full rendering of `messages` and the character spans of its assistant turns
    (content through the end-of-turn marker)."""
    if end_marker is None:
        end_marker = turn_end_marker(tokenizer)
    full = _render(tokenizer, messages, add_generation_prompt=False)
    spans: list[tuple[int, int]] = []
    cursor = 0
    for index, message in enumerate(messages):
        if message.get("role") != "assistant":
            continue
        span = _turn_span(tokenizer, messages, index, full, cursor, end_marker)
        if span is None:
            logger.debug("assistant turn %d not found in the rendering; left unlabelled", index)
            continue
        spans.append(span)
        cursor = span[1]
    return full, spans


def _turn_span(
    tokenizer: Any, messages: list[dict[str, Any]], index: int, full: str, cursor: int, end_marker: str
) -> tuple[int, int] | None:
    """Start: where the generation prompt ends (a rendering of the turns before this one with the
    generation prompt is a prefix of the full text), else where the content is. End: after the
    content and the end-of-turn marker that follows it."""
    start = cursor
    try:
        before = _render(tokenizer, messages[:index], add_generation_prompt=True) if index else None
    except Exception:  # some templates refuse partial conversations
        before = None
    if before is not None and full.startswith(before) and len(before) >= cursor:
        start = len(before)
    content = (messages[index].get("content") or "").strip()
    if not content:  # e.g. a tool-call turn: label through where the rendering of this turn ends
        return _span_through_turn(tokenizer, messages, index, full, start)
    at = full.find(content, start)
    if at < 0:
        return None
    if before is None or not full.startswith(before) or len(before) < cursor:
        start = at
    end = at + len(content)
    if end_marker:
        gap = len(full[end:]) - len(full[end:].lstrip())
        if full.startswith(end_marker, end + gap):
            end += gap + len(end_marker)
    return start, end


def _span_through_turn(
    tokenizer: Any, messages: list[dict[str, Any]], index: int, full: str, start: int
) -> tuple[int, int] | None:
    try:
        through = _render(tokenizer, messages[: index + 1], add_generation_prompt=False)
    except Exception:
        return None
    end = len(through.rstrip())
    return (start, end) if full.startswith(through) and end > start else None


def _encode(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"]) if text else []


def tokenize_chat(
    tokenizer: Any, messages: list[dict[str, Any]], *, train_on_responses_only: bool, end_marker: str | None = None
) -> tuple[list[int], list[int]]:
    """(input_ids, labels) of one conversation. `end_marker` defaults to `turn_end_marker(tokenizer)`
    (pass it when tokenizing many rows to probe the template once)."""
    full, spans = assistant_spans(tokenizer, messages, end_marker=end_marker)
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
            [
                DatasetIssue(
                    "train_on_responses_only is set, but text rows have no assistant turns, so every "
                    "label would be masked; set train_on_responses_only to false or use a chat format",
                    path=source_label,
                    field="train_on_responses_only",
                )
            ],
            summary="Every label would be masked",
        )
    result = TokenizedRows(examples=[])
    end_marker = turn_end_marker(tokenizer) if fmt in CHAT_FORMATS else ""
    for row in rows:
        if fmt == "text":
            ids, labels = tokenize_text(tokenizer, row.data["text"])
        else:
            ids, labels = tokenize_chat(
                tokenizer,
                to_messages(row.data, fmt),
                train_on_responses_only=train_on_responses_only,
                end_marker=end_marker,
            )
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

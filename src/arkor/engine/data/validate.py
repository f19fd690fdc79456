"""Checking every row of a dataset before any training, and reporting all problems at once.

Each problem is a `DatasetIssue` with the source label, the row's line and the field path, so it
prints as `data/triage.jsonl:17: messages[2].role must be one of system, user, assistant, tool (got
'bot')`. `validate_rows` raises one `DatasetValidationError` carrying every issue (its message lists
the first 20 and counts the rest). Pure: no tokenizer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from arkor.errors import DatasetIssue, DatasetValidationError

from .formats import EXPECTED_KEYS_HINT, parse_json_messages, type_name
from .sources import SourceRow

ROLES = ("system", "user", "assistant", "tool")


def _preview(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_string(data: dict[str, Any], key: str, *, required: bool = True, nonempty: bool = True) -> str | None:
    """The problem with `data[key]` as a text field, or None."""
    if key not in data or data[key] is None:
        return "is missing" if required else None
    value = data[key]
    if not isinstance(value, str):
        return f"must be a string (got {type_name(value)})"
    if nonempty and not value.strip():
        return "must not be empty"
    return None


def _message_issues(messages: Any) -> list[tuple[str, str]]:
    """(field, message) problems of one conversation."""
    if messages is None:
        return [("messages", "is missing (expected a list of {role, content} objects)")]
    messages = parse_json_messages(messages)
    if not isinstance(messages, list):
        return [("messages", f"must be a list of {{role, content}} objects (got {type_name(messages)})")]
    if not messages:
        return [("messages", "must not be empty")]
    problems: list[tuple[str, str]] = []
    has_assistant = False
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            problems.append((where, f"must be an object with role and content (got {type_name(message)})"))
            continue
        role = message.get("role")
        if role is None:
            problems.append((f"{where}.role", "is missing"))
        elif role not in ROLES:
            problems.append((f"{where}.role", f"must be one of {', '.join(ROLES)} (got {_preview(role)})"))
        has_assistant = has_assistant or role == "assistant"
        content = message.get("content")
        tool_call_turn = role == "assistant" and bool(message.get("tool_calls"))
        if content is None and not tool_call_turn:
            problems.append((f"{where}.content", "is missing"))
        elif content is not None and not isinstance(content, str):
            problems.append((f"{where}.content", f"must be a string (got {type_name(content)})"))
        elif role == "assistant" and not tool_call_turn and isinstance(content, str) and not content.strip():
            problems.append((f"{where}.content", "must not be empty in an assistant turn"))
    if not has_assistant:
        problems.append(("messages", "must contain at least one assistant turn"))
    return problems


def row_issues(data: dict[str, Any], fmt: str) -> Sequence[tuple[str | None, str]]:
    """(field, message) problems of one row in format `fmt`; field None for the row as a whole."""
    if fmt == "messages":
        return _message_issues(data.get("messages"))
    checks: list[tuple[str, bool]]
    if fmt == "prompt_completion":
        checks = [("prompt", True), ("completion", True)]
    elif fmt == "alpaca":
        checks = [("instruction", True), ("output", True)]
    elif fmt == "text":
        checks = [("text", True)]
    else:
        raise ValueError(f"unknown format {fmt!r}")
    problems = [(key, problem) for key, _ in checks if (problem := _check_string(data, key)) is not None]
    if fmt == "alpaca" and (problem := _check_string(data, "input", required=False, nonempty=False)):
        problems.append(("input", problem))
    if problems and all(key not in data for key, _ in checks):
        # Nothing of the format is there: say what the row does have, which is the likelier mistake.
        keys = ", ".join(sorted(data)) or "no keys"
        return [(None, f"row has keys ({keys}) but the dataset format is {fmt}; expected {EXPECTED_KEYS_HINT}")]
    return problems


def collect_issues(rows: Sequence[SourceRow], fmt: str, *, source_label: str) -> list[DatasetIssue]:
    """Every problem in `rows`, in row order."""
    issues: list[DatasetIssue] = []
    if not rows:
        issues.append(DatasetIssue("dataset has no rows", path=source_label))
    for row in rows:
        for field_path, message in row_issues(row.data, fmt):
            issues.append(DatasetIssue(message, line=row.line, field=field_path, path=source_label))
    return issues


def validate_rows(rows: Sequence[SourceRow], fmt: str, *, source_label: str) -> None:
    """Check every row. Raises DatasetValidationError with all issues found (none: returns)."""
    issues = collect_issues(rows, fmt, source_label=source_label)
    if issues:
        raise DatasetValidationError(issues, summary=_summary(issues, len(rows), source_label))


def _summary(issues: list[DatasetIssue], total_rows: int, source_label: str) -> str:
    bad_rows = len({issue.line for issue in issues if issue.line is not None})
    return f"{source_label}: {len(issues)} problem(s) in {bad_rows} of {total_rows} row(s); fix them and retry"

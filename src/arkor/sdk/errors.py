"""Errors the SDK raises, under `arkor.errors.ArkorError`.

ArkorError
├── ConfigError (ValueError)
│   └── TrainerConfigError          bad `create_trainer(...)` input; names every bad field
├── CloudApiError                   a non-2xx answer from the training backend (`status`, `message`, `details`)
├── AnonymousTokenRejectedError     `POST /v1/auth/anonymous` refused
├── ProjectStateMismatchError       `.arkor/state.json` belongs to another anonymous org
├── TrainerStreamError              the job's event stream failed too many times in a row
├── InferenceStreamError            the backend reported an error inside a 2xx chat answer (`event: error`)
└── JobFailedError / JobCancelledError   raised only by `TrainingResult.raise_for_status()`
"""

from __future__ import annotations

import json
from typing import Any

from arkor.errors import ArkorError, ConfigError


class TrainerConfigError(ConfigError):
    """`create_trainer` input that cannot work. `problems` lists every problem found (field, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = list(problems)
        if len(problems) == 1:
            message = f"Invalid trainer config: {problems[0][0]}: {problems[0][1]}"
        else:
            lines = "\n".join(f"  - {field}: {msg}" for field, msg in problems)
            message = f"Invalid trainer config ({len(problems)} problems):\n{lines}"
        super().__init__(message, field=problems[0][0] if problems else None)


class CloudApiError(ArkorError):
    """The training backend answered with a non-2xx status.

    `message` is the body's `error` field, else the raw body text, else `cloud-api <status>`;
    for 426 it is always an upgrade hint. `details` is the body's `details` list (e.g. every
    problem in an uploaded dataset: `{line, field, message, path}`), and `str(error)` lists them
    (the first `SHOWN_DETAILS`, then `... and N more`) so a CLI or traceback shows each one.
    """

    SHOWN_DETAILS = 20

    def __init__(self, status: int, message: str, details: list[Any] | None = None) -> None:
        self.status = status
        self.message = message
        self.details = list(details or [])
        super().__init__(_with_details(message, self.details, self.SHOWN_DETAILS))

    def __repr__(self) -> str:
        return f"CloudApiError(status={self.status!r}, message={self.message!r}, details={self.details!r})"


def describe_detail(detail: Any) -> str:
    """One detail as a line: `train.jsonl:7: messages[1].role must be one of ...` for a dataset issue."""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, dict) and isinstance(detail.get("message"), str):
        where = [str(detail["path"])] if detail.get("path") else []
        if isinstance(detail.get("line"), int):
            where.append(str(detail["line"]) if where else f"line {detail['line']}")
        subject = f"{detail['field']} " if detail.get("field") else ""
        text = f"{subject}{detail['message']}"
        return f"{':'.join(where)}: {text}" if where else text
    return json.dumps(detail, ensure_ascii=False, default=str)


def _with_details(message: str, details: list[Any], shown: int) -> str:
    # A detail already spelled out in the summary (a one-problem 400) is not repeated.
    lines = [line for line in map(describe_detail, details) if line not in message]
    if not lines:
        return message
    head = message.rstrip().rstrip(":")
    listed = lines[:shown]
    if len(lines) > shown:
        listed.append(f"... and {len(lines) - shown} more")
    return head + ":\n  " + "\n  ".join(listed)


class AnonymousTokenRejectedError(ArkorError):
    """The backend refused to mint an anonymous token."""

    def __init__(self, status: int, body: str) -> None:
        self.status = status
        self.body = body[:500]
        super().__init__(f"Failed to acquire anonymous token ({status}): {self.body}")


class ProjectStateMismatchError(ArkorError):
    """`.arkor/state.json` is scoped to another org than the current anonymous session."""

    def __init__(self) -> None:
        super().__init__(
            "This workspace's .arkor/state.json is scoped to a different organization than your "
            "current anonymous session. Delete .arkor/state.json to start a fresh anonymous "
            "project, or run `arkor login` with the account that owns that project."
        )


class ProjectStateMissingError(ArkorError):
    """An OAuth user has no `.arkor/state.json` (it is never created for them)."""


class TrainerStreamError(ArkorError):
    """`wait()` gave up on the job's event stream; `__cause__` is the last failure."""


class InferenceStreamError(ArkorError):
    """The backend's chat answer carried an error after it had started (the SSE `event: error` frame).

    `message` is the backend's text; `partial_text` is what had arrived before it (never a finished answer).
    """

    def __init__(self, message: str, partial_text: str = "") -> None:
        self.message = message
        self.partial_text = partial_text
        received = f" after {len(partial_text)} character(s) of text" if partial_text else ""
        super().__init__(f"Inference failed mid-answer{received}: {message}")


class JobFailedError(ArkorError):
    """Raised by `TrainingResult.raise_for_status()` for a failed job."""

    def __init__(self, job_id: str, error: str | None) -> None:
        self.job_id = job_id
        self.error = error
        super().__init__(f"Job {job_id} failed: {error or 'no error message'}")


class JobCancelledError(ArkorError):
    """Raised by `TrainingResult.raise_for_status()` for a cancelled job."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"Job {job_id} was cancelled")

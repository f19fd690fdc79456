"""Errors the SDK raises, under `arkor.errors.ArkorError`.

ArkorError
├── ConfigError (ValueError)
│   └── TrainerConfigError          bad `create_trainer(...)` input; names every bad field
├── ArkorTransportError (arkor.transport)
│   ├── ApiConnectionError          the backend could not be reached (`method`, `url`, `reason`)
│   │   └── ApiTimeoutError         it did not answer in time
│   └── ApiStatusError
│       └── CloudApiError           a non-2xx answer from the training backend (`status`, `message`, `details`)
├── AnonymousTokenRejectedError     `POST /v1/auth/anonymous` refused
├── ProjectStateMismatchError       `.arkor/state.json` belongs to another anonymous org
├── TrainerStreamError              the job's event stream failed too many times in a row
├── InferenceStreamError            the backend reported an error inside a 2xx chat answer (`event: error`)
└── JobFailedError / JobCancelledError   raised only by `TrainingResult.raise_for_status()`
"""

from __future__ import annotations

from arkor.errors import ArkorError, ConfigError
from arkor.transport import ApiConnectionError, ApiStatusError, ApiTimeoutError, ArkorTransportError, describe_detail

__all__ = [
    "AnonymousTokenRejectedError",
    "ApiConnectionError",
    "ApiStatusError",
    "ApiTimeoutError",
    "ArkorTransportError",
    "CloudApiError",
    "InferenceStreamError",
    "JobCancelledError",
    "JobFailedError",
    "ProjectStateMismatchError",
    "ProjectStateMissingError",
    "TrainerConfigError",
    "TrainerStreamError",
    "describe_detail",
]


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


class CloudApiError(ApiStatusError):
    """The training backend answered with a non-2xx status (the SDK's name for `ApiStatusError`).

    `message` is the body's `error` field, else the raw body text, else `cloud-api <status>`;
    for 426 it is always an upgrade hint. `details` is the body's `details` list (e.g. every
    problem in an uploaded dataset: `{line, field, message, path}`), and `str(error)` lists them
    (the first `SHOWN_DETAILS`, then `... and N more`) so a CLI or traceback shows each one.
    """


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

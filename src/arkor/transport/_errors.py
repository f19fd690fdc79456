"""The errors every arkor HTTP client raises (a leaf: stdlib and `arkor.errors` only).

ArkorTransportError                 a request to an arkor backend did not succeed
├── ApiConnectionError              no answer: refused, reset, DNS, bad scheme (`method`, `url`, `reason`)
│   └── ApiTimeoutError             no answer in time
└── ApiStatusError                  an answer with a non-2xx status (`status`, `message`, `details`)

`ApiConnectionError` is raised only after the retries the request was allowed; `str()` names the
URL (without its query) so a user can tell which backend was unreachable.
"""

from __future__ import annotations

import json
from typing import Any

from arkor.errors import ArkorError


class ArkorTransportError(ArkorError):
    """A request to an arkor backend did not succeed."""


class ApiConnectionError(ArkorTransportError):
    """The backend could not be reached (or the connection broke before an answer)."""

    def __init__(self, *, method: str, url: str, reason: str) -> None:
        self.method = method
        self.url = url
        self.reason = reason
        super().__init__(self._describe())

    def _describe(self) -> str:
        return f"Could not reach the backend at {self.url} ({self.method}): {self.reason}"


class ApiTimeoutError(ApiConnectionError):
    """The backend did not answer within the request's timeout."""

    def _describe(self) -> str:
        return f"The backend at {self.url} ({self.method}) did not answer in time: {self.reason}"


class ApiStatusError(ArkorTransportError):
    """The backend answered with a non-2xx status.

    `details` is the body's `details` list (e.g. every problem of an uploaded dataset:
    `{line, field, message, path}`); `str(error)` lists them (the first `SHOWN_DETAILS`, then
    `... and N more`) so a CLI or a traceback shows each one.
    """

    SHOWN_DETAILS = 20

    def __init__(self, status: int, message: str, details: list[Any] | None = None) -> None:
        self.status = status
        self.message = message
        self.details = list(details or [])
        super().__init__(_with_details(message, self.details, self.SHOWN_DETAILS))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, message={self.message!r}, details={self.details!r})"


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

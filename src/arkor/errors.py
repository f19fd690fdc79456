"""The exception hierarchy every part of arkor raises from (a leaf module: stdlib only).

ArkorError
├── ConfigError (ValueError)            bad trainer input or job config; names the field
├── DatasetValidationError (ValueError) every problem found in a dataset, with file and line
└── ModelNotAvailableError              a model that cannot be loaded here, and what can
"""

from __future__ import annotations

from dataclasses import dataclass


class ArkorError(Exception):
    """Root of every error arkor raises on purpose."""


class ConfigError(ArkorError, ValueError):
    """Invalid configuration. `field` names the offending field when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class DatasetIssue:
    """One problem in a dataset: `path:line: field message`."""

    message: str
    line: int | None = None
    field: str | None = None
    path: str | None = None

    def __str__(self) -> str:
        where = self.path or "dataset"
        if self.line is not None:
            where = f"{where}:{self.line}"
        subject = f"{self.field} " if self.field else ""
        return f"{where}: {subject}{self.message}"


class DatasetValidationError(ArkorError, ValueError):
    """A dataset that cannot be trained on. Carries every issue found (the message lists up to `shown`)."""

    def __init__(self, issues: list[DatasetIssue], summary: str | None = None, shown: int = 20) -> None:
        self.issues = list(issues)
        head = summary or f"Dataset has {len(self.issues)} problem(s)"
        lines = [str(issue) for issue in self.issues[:shown]]
        if len(self.issues) > shown:
            lines.append(f"... and {len(self.issues) - shown} more")
        super().__init__(head + (":\n  " + "\n  ".join(lines) if lines else ""))


class ModelNotAvailableError(ArkorError):
    """A model id that cannot be loaded on this machine (no network, not cached, unknown)."""

"""A job's status: the values it takes and which of them are final."""

from __future__ import annotations

from typing import Literal

JobStatus = Literal["queued", "running", "completed", "failed", "cancelled"]
TERMINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "cancelled"})

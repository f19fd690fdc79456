"""Error bodies: the original's flat envelope `{"error": "..."}` plus optional detail."""

from __future__ import annotations

from typing import Any

from ._base import WireModel


class ErrorBody(WireModel):
    error: str
    code: str | None = None
    param: str | None = None
    request_id: str | None = None
    details: list[Any] | None = None


class UpgradeRequiredBody(WireModel):
    """The 426 body sent when a request lacks a supported `X-Arkor-Client`."""

    error: str = "sdk_version_unsupported"
    current_version: str | None = None
    supported_range: str
    upgrade: str
    reason: str | None = None

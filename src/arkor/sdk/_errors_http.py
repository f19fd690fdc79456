"""Turn backend answers into `CloudApiError` and deprecation notices (I/O-free, one place).

The message is the body's `error` field, else the raw body text, else `cloud-api <status>`; a 426
always becomes an upgrade hint. The body's `details` list is kept on the error and listed in its text.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from arkor import __version__

from .errors import CloudApiError

logger = logging.getLogger(__name__)

UPGRADE_COMMAND = "pip install --upgrade arkor"


def _upgrade_hint(body: Any) -> str:
    if isinstance(body, dict) and (body.get("supportedRange") or body.get("currentVersion")):
        current = body.get("currentVersion") or __version__
        supported = body.get("supportedRange") or "unknown"
        return (
            f"Arkor SDK {current} is no longer supported by the cloud API "
            f"(supported: {supported}). Run `{UPGRADE_COMMAND}`."
        )
    return f"Arkor SDK is no longer supported by the cloud API. Run `{UPGRADE_COMMAND}`."


def error_from_body(status: int, text: str) -> CloudApiError:
    """Build the `CloudApiError` of a non-2xx answer from its body text."""
    body: Any = None
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    if status == 426:
        return CloudApiError(status, _upgrade_hint(body))
    if isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"]:
        details = body.get("details")
        return CloudApiError(status, body["error"], details if isinstance(details, list) else None)
    if text.strip():
        return CloudApiError(status, text)
    return CloudApiError(status, f"cloud-api {status}")


@dataclass(frozen=True)
class DeprecationNotice:
    sdk_version: str
    message: str
    sunset: str | None = None


_latest_lock = threading.Lock()
_latest: DeprecationNotice | None = None


def latest_deprecation() -> DeprecationNotice | None:
    """The last deprecation notice any client saw."""
    return _latest


def take_latest_deprecation() -> DeprecationNotice | None:
    """The last notice seen, forgotten as it is handed over (the CLI prints each command's own once)."""
    global _latest
    with _latest_lock:
        notice, _latest = _latest, None
    return notice


def _warning_text(header: str | None) -> str | None:
    if not header:
        return None
    match = re.match(r'\s*299\s+\S+\s+"(.*)"', header)
    return match.group(1) if match else header


def record_deprecation(response: httpx.Response, handler: Callable[[DeprecationNotice], Any] | None) -> None:
    """Note a `Deprecation: true` answer; a failing handler never fails the request."""
    global _latest
    if response.headers.get("deprecation", "").strip().lower() != "true":
        return
    notice = DeprecationNotice(
        sdk_version=__version__,
        message=_warning_text(response.headers.get("warning")) or f"Arkor SDK {__version__} is deprecated",
        sunset=response.headers.get("sunset"),
    )
    with _latest_lock:
        _latest = notice
    if handler is not None:
        try:
            handler(notice)
        except Exception:  # noqa: BLE001 - a notice must never break the call
            logger.debug("deprecation handler raised", exc_info=True)

"""Studio's loopback defences: the Host allow-list, the per-launch token, and the token file.

A page on another origin can make the browser send requests to 127.0.0.1 (DNS rebinding, CSRF).
The Host allow-list refuses any request whose Host is not a loopback name, so a rebound origin
never sees the HTML that carries the token; the token (32 random bytes, per launch) is required on
every `/api/*` request, so a cross-site form or fetch cannot act without having read our HTML.
"""

from __future__ import annotations

import hmac
import html
import os
import re
import secrets
import uuid
from pathlib import Path

from arkor import _env

TOKEN_HEADER = "X-Arkor-Studio-Token"
TOKEN_QUERY = "studioToken"
TOKEN_META = "arkor-studio-token"
MIN_TOKEN_LENGTH = 16

_LOOPBACK_HOST = re.compile(r"^(?:127\.0\.0\.1|localhost|\[::1\])(?::\d{1,5})?$", re.IGNORECASE)
# EventSource cannot send headers, so only the job event stream may carry the token in its query.
_QUERY_TOKEN_PATH = re.compile(r"^/api/jobs/[^/]+/events$")


def new_token() -> str:
    """32 random bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


def host_allowed(host: str | None) -> bool:
    """True for `127.0.0.1`, `localhost` or `[::1]`, with or without a port."""
    return bool(host) and _LOOPBACK_HOST.match(host.strip()) is not None  # type: ignore[union-attr]


def query_token_allowed(method: str, path: str) -> bool:
    return method == "GET" and _QUERY_TOKEN_PATH.match(path) is not None


def token_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison (the length check leaks only the length, which is public)."""
    if not given:
        return False
    a, b = expected.encode(), given.encode()
    return len(a) == len(b) and hmac.compare_digest(a, b)


def inject_token(page: str, token: str) -> str:
    """Add `<meta name="arkor-studio-token">` before `</head>` (or at the top when there is none)."""
    tag = f'<meta name="{TOKEN_META}" content="{html.escape(token, quote=True)}">'
    index = page.lower().find("</head>")
    if index < 0:
        return tag + page
    return page[:index] + tag + page[index:]


def token_file() -> Path:
    return _env.arkor_home() / "studio-token"


def write_token_file(token: str) -> Path:
    """Write the token atomically with mode 0600 (for tools that drive a running Studio)."""
    path = token_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(token)
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    finally:
        if temp.exists():
            temp.unlink()
    return path


def remove_token_file_if_ours(token: str) -> bool:
    """Delete the token file only when it still holds `token` (another Studio may have replaced it)."""
    path = token_file()
    try:
        current = path.read_text(encoding="utf-8").strip()
    except OSError:
        return False
    if not token_matches(token, current):
        return False
    try:
        path.unlink()
    except OSError:
        return False
    return True

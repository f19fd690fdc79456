"""Studio's loopback defences: the Host allow-list, the per-launch token, the session cookie, and the token file.

A page on another origin can make the browser send requests to 127.0.0.1 (DNS rebinding, CSRF).
The Host allow-list refuses any request whose Host is not a loopback name, so a rebound origin
never sees the HTML that carries the token; the token (32 random bytes, per launch) is required on
every `/api/*` request, so a cross-site form or fetch cannot act without having read our HTML.

Other users of the same machine can reach 127.0.0.1 too, so the HTML is not served to just anyone
(as in Jupyter): `arkor dev` prints and opens `http://localhost:<port>/?token=<launch token>` once;
Studio answers it with an HttpOnly, SameSite=Strict session cookie and a redirect to the clean URL.
Only a cookie holder gets the pages (and the header token in them); anyone else gets a page that
says how to open Studio, with no token in it. The backend's bearer token never reaches the browser.
"""

from __future__ import annotations

import hmac
import html
import os
import re
import secrets
import uuid
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from arkor import _env

TOKEN_HEADER = "X-Arkor-Studio-Token"
TOKEN_QUERY = "studioToken"
TOKEN_META = "arkor-studio-token"
LAUNCH_QUERY = "token"
"""The query parameter of the URL `arkor dev` prints (`/?token=...`), exchanged for the session cookie."""
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


def launch_url(base_url: str, token: str) -> str:
    """The URL that opens Studio in a browser: the base URL with the launch token, shown once."""
    return f"{base_url.rstrip('/')}/?{urlencode({LAUNCH_QUERY: token})}"


def session_cookie_name(port: int | None) -> str:
    """Cookies are shared by every port of a host, so each Studio's cookie names its port."""
    return f"arkor-studio-{port}" if port else "arkor-studio"


def session_cookie(name: str, value: str) -> str:
    return f"{name}={value}; Path=/; HttpOnly; SameSite=Strict"


def cookie_value(cookie_header: str | None, name: str) -> str | None:
    if not cookie_header:
        return None
    jar = SimpleCookie()
    try:
        jar.load(cookie_header)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


def without_launch_token(path: str, query_string: str) -> str:
    """Where to send the browser after the exchange: the same path and query, minus `token`."""
    kept = [(k, v) for k, v in parse_qsl(query_string, keep_blank_values=True) if k != LAUNCH_QUERY]
    target = path if path.startswith("/") and not path.startswith("//") else "/"
    return target + (f"?{urlencode(kept)}" if kept else "")


def open_studio_page(reason: str) -> str:
    """What a browser without the session cookie sees: how to open Studio (no token in it)."""
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>Arkor Studio</title></head><body>'
        f"<h1>Open Arkor Studio from its link</h1><p>{html.escape(reason)}</p>"
        "<p>Run <code>arkor dev</code> in your project and open the URL it prints "
        "(<code>http://localhost:&lt;port&gt;/?token=&hellip;</code>), or start it with <code>arkor dev --open</code>. "
        "The link works in this browser until Studio stops.</p></body></html>"
    )


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

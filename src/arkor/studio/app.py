"""`create_studio_app(...)`: the Studio FastAPI app (API routes, guards, the static web app).

Guards run before any route, HTML included: a non-loopback Host gets 403 (so a DNS-rebound page
never receives the token), and `/api/*` without the per-launch token gets 403. Pages and assets need
the session cookie, which `/?token=<launch token>` (the URL `arkor dev` prints) sets before
redirecting to the clean URL; without it a browser gets a page saying how to open Studio. No CORS
headers are ever sent. HTML is served with the token injected as a meta tag and `Cache-Control: no-store`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import mimetypes
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI
from fastapi.responses import FileResponse, PlainTextResponse, Response

from . import routes_api, routes_deployments
from .security import (
    LAUNCH_QUERY,
    MIN_TOKEN_LENGTH,
    TOKEN_QUERY,
    cookie_value,
    host_allowed,
    inject_token,
    new_token,
    open_studio_page,
    query_token_allowed,
    session_cookie,
    session_cookie_name,
    token_matches,
    without_launch_token,
)
from .train_runs import TrainRuns

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".map": "application/json",
}


@dataclass
class StudioContext:
    """What the routes share: the project directory and its training children."""

    token: str
    project_dir: Path
    session: str = field(default_factory=new_token)
    """The session cookie's value (not the launch token: the cookie only ever opens pages)."""
    assets_dir: Path = STATIC_DIR
    train_runs: TrainRuns = field(default_factory=TrainRuns)


class StudioGuard:
    """ASGI middleware: Host allow-list on every request, the token on `/api/*`, the session cookie elsewhere."""

    def __init__(self, app: Any, token: str, session: str) -> None:
        self.app = app
        self.token = token
        self.session = session

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope["path"]
        is_api = path == "/api" or path.startswith("/api/")
        if not host_allowed(headers.get("host")):
            await _reject(send, is_api, "Studio API is loopback-only" if is_api else "Studio is loopback-only")
            return
        query_string = scope.get("query_string", b"").decode("latin-1")
        if is_api:
            given = headers.get("x-arkor-studio-token")
            if not given and query_token_allowed(scope["method"], path):
                given = (parse_qs(query_string).get(TOKEN_QUERY) or [None])[0]
            if not token_matches(self.token, given):
                await _reject(send, True, "Missing or invalid studio token")
                return
            await self.app(scope, receive, _with_security_headers(send))
            return
        server = scope.get("server") or (None, None)
        cookie_name = session_cookie_name(server[1])
        launch = parse_qs(query_string, keep_blank_values=True).get(LAUNCH_QUERY)
        if launch is not None:
            if not token_matches(self.token, launch[0]):
                await _page(
                    send,
                    403,
                    open_studio_page(
                        "This link's token is not the one of the running Studio (was it restarted? Use the newest link)."
                    ),
                )
                return
            location = without_launch_token(path, query_string)
            await send(
                {
                    "type": "http.response.start",
                    "status": 303,
                    "headers": [
                        (b"location", location.encode("latin-1")),
                        (b"set-cookie", session_cookie(cookie_name, self.session).encode("latin-1")),
                        (b"cache-control", b"no-store"),
                        (b"referrer-policy", b"no-referrer"),
                        (b"content-length", b"0"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        if not token_matches(self.session, cookie_value(headers.get("cookie"), cookie_name)):
            await _page(send, 401, open_studio_page("This browser has not opened Studio's link yet."))
            return
        await self.app(scope, receive, _with_security_headers(send))


async def _page(send: Any, status: int, page: str) -> None:
    body = page.encode()
    await _with_security_headers(send)(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _with_security_headers(send: Any) -> Any:
    """Add nosniff/no-referrer to every answer, and a strict CSP plus frame denial to HTML."""

    async def wrapped(message: dict) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            names = {name.lower() for name, _ in headers}
            extra = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
            content_type = dict(headers).get(b"content-type", b"")
            if content_type.startswith(b"text/html"):
                extra += [(b"content-security-policy", CONTENT_SECURITY_POLICY.encode()), (b"x-frame-options", b"DENY")]
            headers += [(name, value) for name, value in extra if name not in names]
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


async def _reject(send: Any, as_json: bool, message: str) -> None:
    if as_json:
        body, content_type = json.dumps({"error": message}).encode(), b"application/json"
    else:
        body, content_type = message.encode(), b"text/plain; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def create_studio_app(*, token: str, project_dir: Path, assets_dir: Path | None = None) -> FastAPI:
    """The Studio app for one launch. `token` must be at least 16 characters."""
    if len(token) < MIN_TOKEN_LENGTH:
        raise ValueError(f"studio token must be at least {MIN_TOKEN_LENGTH} characters")
    studio = StudioContext(token=token, project_dir=Path(project_dir).resolve(), assets_dir=assets_dir or STATIC_DIR)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await studio.train_runs.stop_all()

    app = FastAPI(title="arkor studio", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.studio = studio
    app.include_router(routes_api.router)
    app.include_router(routes_deployments.router)

    @app.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    async def unknown_api(rest: str) -> Response:
        return Response(
            json.dumps({"error": f"No Studio API route /api/{rest}"}), status_code=404, media_type="application/json"
        )

    @app.get("/js/protocol.js", include_in_schema=False)
    async def protocol_module() -> Response:
        return Response(protocol_js(), media_type="text/javascript", headers={"Cache-Control": "no-cache"})

    @app.get("/{path:path}", include_in_schema=False)
    async def static(path: str) -> Response:
        return serve_static(studio, path)

    app.add_middleware(StudioGuard, token=token, session=studio.session)
    return app


def protocol_js() -> str:
    """The web app's copy of what `arkor.protocol` says about events, generated on each request (so a
    type registered at run time is in it): every event type, the job status each announces, and the
    terminal statuses."""
    from arkor.protocol import TERMINAL_STATUSES, event_types

    types = {kind.name: {"status": kind.status, "terminal": kind.terminal} for kind in event_types()}
    return (
        "// Generated by the Studio backend from arkor.protocol; not a file on disk.\n"
        f"export const EVENT_TYPES = Object.freeze({json.dumps(types)});\n"
        f"export const TERMINAL_STATUSES = Object.freeze({json.dumps(sorted(TERMINAL_STATUSES))});\n"
    )


def serve_static(studio: StudioContext, path: str) -> Response:
    """An asset from the web app; `/` and extensionless paths get `index.html` (hash routing)."""
    root = studio.assets_dir.resolve()
    target = (root / path).resolve() if path else root / "index.html"
    if root not in target.parents and target != root:
        return PlainTextResponse("Not found", status_code=404)
    if not target.is_file():
        if "." in Path(path).name or not (root / "index.html").is_file():
            return PlainTextResponse("Not found", status_code=404)
        target = root / "index.html"
    if target.suffix == ".html":
        page = inject_token(target.read_text(encoding="utf-8"), studio.token)
        return Response(page, media_type="text/html", headers={"Cache-Control": "no-store"})
    media = _TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return FileResponse(target, media_type=media, headers={"Cache-Control": "no-cache"})

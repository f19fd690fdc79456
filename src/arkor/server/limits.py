"""What one request may cost the server: body caps, auth before the body, stream slots, blocking pools.

- `RequestGuard` (outermost ASGI middleware) refuses a body over its route's cap before reading it when
  `Content-Length` says so, and counts bytes as they stream otherwise (413 the moment the cap is
  passed, so nothing parses a body the cap would refuse). Before any body is read it checks the
  credential: the job's worker token on `/internal/jobs/<id>/...`, a bearer token on `/v1/...` (except
  anonymous sign-up). An anonymous 40 MB request costs a header parse and one indexed lookup.
- `StreamSlots` bounds open SSE streams per token and in total (429 beyond), so one caller cannot use
  up the process's file descriptors.
- `BlockingPools` runs inference, export and dataset validation on capacity-limited thread pools of
  their own, so slow model calls cannot take every worker thread the rest of the API needs.
"""

from __future__ import annotations

import json
import logging
import re
import resource
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from starlette.exceptions import HTTPException as StarletteHTTPException

from arkor.protocol import ErrorBody

from .deps import INVALID_TOKEN, INVALID_WORKER_TOKEN, MISSING_TOKEN, token_caller, worker_token_valid
from .errors import ApiError

if TYPE_CHECKING:
    from .app import Services

logger = logging.getLogger(__name__)

T = TypeVar("T")

_INTERNAL_JOB = re.compile(r"^/internal/jobs/([^/]+)/")
_UPLOAD_MEDIA_TYPES = ("application/octet-stream", "multipart/form-data")
_EVENT_BATCH = re.compile(r"^/internal/jobs/[^/]+/events/?$")
_PUBLIC_V1 = {"/v1/auth/anonymous", "/v1/auth/cli/config"}


class BodyTooLarge(StarletteHTTPException):
    """Raised from `receive` once a streaming body passes its cap (FastAPI re-raises HTTPExceptions)."""

    def __init__(self, limit: int, setting: str) -> None:
        super().__init__(413, body_too_large_message(limit, setting))
        self.setting = setting


def body_too_large_message(limit: int, setting: str) -> str:
    return f"request body is larger than {limit} bytes, the limit for this route; the server's {setting} sets it"


@dataclass(frozen=True)
class BodyCap:
    limit: int
    setting: str


def upload_routes(openapi: dict[str, Any]) -> list[tuple[frozenset[str], re.Pattern[str]]]:
    """(methods, path regex) of every operation whose request body is a file (raw or multipart).

    Such routes stream their body to disk and get the upload cap: declaring the body that way in the
    route (`openapi_extra`, as `POST /v1/datasets` does) is all a new upload route needs.
    """
    found = []
    for template, operations in (openapi.get("paths") or {}).items():
        methods = frozenset(
            method.upper()
            for method, operation in operations.items()
            if isinstance(operation, dict)
            and any(
                media in ((operation.get("requestBody") or {}).get("content") or {}) for media in _UPLOAD_MEDIA_TYPES
            )
        )
        if methods:
            found.append((methods, _template_regex(template)))
    return found


def _template_regex(template: str) -> re.Pattern[str]:
    # `{name}` is one segment, except a trailing one, which may be a `{name:path}` (several segments).
    parts = re.split(r"(\{[^}]+\})", template)
    pattern = "".join(
        (".+" if index == len(parts) - 2 and parts[-1] == "" else "[^/]+") if part.startswith("{") else re.escape(part)
        for index, part in enumerate(parts)
    )
    return re.compile(f"^{pattern}/?$")


def body_cap(settings: Any, method: str, path: str, uploads: list[tuple[frozenset[str], re.Pattern[str]]]) -> BodyCap:
    """The most bytes a request to `method path` may send."""
    for methods, pattern in uploads:
        if method in methods and pattern.match(path):
            # Uploads stream to disk; the upload route enforces the same cap as it writes.
            return BodyCap(settings.max_upload_bytes, "ARKOR_MAX_UPLOAD_BYTES")
    if method == "POST" and _EVENT_BATCH.match(path):
        return BodyCap(settings.max_event_batch_bytes, "ARKOR_MAX_EVENT_BATCH_BYTES")
    return BodyCap(settings.max_json_body_bytes, "ARKOR_MAX_JSON_BODY_BYTES")


def _bearer(headers: dict[str, str]) -> str | None:
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class RequestGuard:
    """ASGI middleware: body caps while reading, and the credential checked before the body."""

    def __init__(self, app: Any, services: Services, routes_of: Any) -> None:
        self.app = app
        self.services = services
        self._routes_of = routes_of
        self._uploads: list[tuple[frozenset[str], re.Pattern[str]]] | None = None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method, path = scope["method"], scope["path"]
        if self._uploads is None:  # every route is registered by the first request
            self._uploads = upload_routes(self._routes_of.openapi())
        cap = body_cap(self.services.settings, method, path, self._uploads)
        length_header = headers.get("content-length")
        if length_header is not None:
            if not length_header.isascii() or not length_header.isdigit() or len(length_header) > 19:
                await _send_error(
                    send,
                    400,
                    ErrorBody(
                        error=f"Content-Length {length_header[:40]!r} is not a byte count", code="invalid_request"
                    ),
                )
                return
            if int(length_header) > cap.limit:
                await _send_error(
                    send, 413, ErrorBody(error=body_too_large_message(cap.limit, cap.setting), code="payload_too_large")
                )
                return
        has_body = (length_header is not None and int(length_header) > 0) or "transfer-encoding" in headers
        refusal = await self._refuse_before_body(method, path, headers, has_body)
        if refusal is not None:
            status, body = refusal
            await _send_error(send, status, body, {"www-authenticate": "Bearer"} if status == 401 else None)
            return

        received = 0

        async def counted_receive() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap.limit:
                    raise BodyTooLarge(cap.limit, cap.setting)
            return message

        started = False

        async def tracked_send(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge as exc:  # escaped a route that reads the body itself
            if started:
                raise
            await _send_error(send, 413, ErrorBody(error=str(exc.detail), code="payload_too_large"))

    async def _refuse_before_body(
        self, method: str, path: str, headers: dict[str, str], has_body: bool
    ) -> tuple[int, ErrorBody] | None:
        internal = _INTERNAL_JOB.match(path)
        if internal:
            token = _bearer(headers)
            valid = token is not None and await anyio.to_thread.run_sync(
                worker_token_valid, self.services, internal.group(1), token
            )
            return None if valid else (401, ErrorBody(error=INVALID_WORKER_TOKEN, code="unauthorized"))
        if not has_body or not path.startswith("/v1/") or path in _PUBLIC_V1:
            return None  # routes without a body authenticate in their dependencies, before any work
        if not headers.get("x-arkor-client", "").startswith("arkor/"):
            return None  # the app answers 426 without reading the body
        token = _bearer(headers)
        if token is None:
            return 401, ErrorBody(error=MISSING_TOKEN, code="unauthorized")
        if await anyio.to_thread.run_sync(token_caller, self.services, token) is None:
            return 401, ErrorBody(error=INVALID_TOKEN, code="unauthorized")
        return None


async def _send_error(send: Any, status: int, body: ErrorBody, extra: dict[str, str] | None = None) -> None:
    payload = json.dumps(body.to_wire()).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"connection", b"close"),
    ]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


@dataclass
class StreamSlots:
    """Open event streams, per token and in total (loop thread only)."""

    total_limit: int
    per_token_limit: int
    _per_token: dict[str, int] = field(default_factory=dict)
    _total: int = 0

    @property
    def open(self) -> int:
        return self._total

    def acquire(self, token_key: str) -> Callable[[], None]:
        """A release function for one new stream, or 429 naming the setting that bounds it."""
        held = self._per_token.get(token_key, 0)
        if held >= self.per_token_limit:
            raise ApiError(
                429,
                f"this token already has {held} open event streams, the most allowed (the server's "
                "ARKOR_MAX_EVENT_STREAMS_PER_TOKEN); close one and retry",
                code="too_many_streams",
                headers={"Retry-After": "5"},
            )
        if self._total >= self.total_limit:
            raise ApiError(
                429,
                f"the server has {self._total} open event streams, the most it allows (ARKOR_MAX_EVENT_STREAMS); retry later",
                code="too_many_streams",
                headers={"Retry-After": "5"},
            )
        self._per_token[token_key] = held + 1
        self._total += 1
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            self._total -= 1
            left = self._per_token.get(token_key, 1) - 1
            if left <= 0:
                self._per_token.pop(token_key, None)
            else:
                self._per_token[token_key] = left

        return release


class BlockingPools:
    """One capacity-limited thread pool per kind of slow call (`inference`, `export`, `validation`)."""

    def __init__(self, size: int, sizes: dict[str, int] | None = None) -> None:
        self.size = size
        self.sizes = dict(sizes or {})
        self._limiters: dict[str, anyio.CapacityLimiter] = {}

    def limiter(self, kind: str) -> anyio.CapacityLimiter:
        limiter = self._limiters.get(kind)
        if limiter is None:  # made on the loop that uses it (anyio needs a running loop)
            limiter = self._limiters[kind] = anyio.CapacityLimiter(self.sizes.get(kind, self.size))
        return limiter

    def waiting(self, kind: str) -> int:
        """Calls of `kind` queued for a free slot now (0 before the first call)."""
        limiter = self._limiters.get(kind)
        return 0 if limiter is None else limiter.statistics().tasks_waiting

    async def run(self, kind: str, function: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(function, *args, limiter=self.limiter(kind))


def raise_open_file_limit() -> int:
    """Lift the soft RLIMIT_NOFILE to the hard limit (many streams need many descriptors); the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return soft
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if target <= soft:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:
        logger.warning("could not raise the open-file limit from %s to %s: %s", soft, target, exc)
        return soft
    return target

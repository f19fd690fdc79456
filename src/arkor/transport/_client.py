"""`Transport` / `AsyncTransport`: the one place an arkor client talks HTTP.

They build requests (base URL + path, the `X-Arkor-Client` header, the bearer token, a per-request
timeout), send them with the retries of `_retry`, and turn httpx's failures into this package's
error tree. They never judge a status: a non-2xx answer is returned (after the retries it allowed)
for the caller to interpret, since the SDK and the worker read error bodies differently.
The twins differ only in how they send and sleep.
"""

from __future__ import annotations

import asyncio
import logging
import random as _random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Self

import httpx

from ._errors import ApiConnectionError, ApiTimeoutError
from ._retry import DEFAULT_RETRY, RetryPolicy, is_idempotent, retry_delay

logger = logging.getLogger("arkor.transport")

CLIENT_HEADER = "X-Arkor-Client"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, read=None)
"""Connect, write and pool time out after 30 s; reads do not (event streams idle between events)."""


def connection_error(request: httpx.Request, exc: httpx.TransportError) -> ApiConnectionError:
    """The error tree's view of an httpx failure: the URL (no query) and the reason, cause kept."""
    url = str(request.url.copy_with(query=None))
    reason = str(exc) or type(exc).__name__
    kind = ApiTimeoutError if isinstance(exc, httpx.TimeoutException) else ApiConnectionError
    error = kind(method=request.method, url=url, reason=reason)
    error.__cause__ = exc
    return error


class _TransportBase:
    def __init__(
        self,
        base_url: str,
        *,
        client_name: str,
        token: str | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        random: Callable[[], float] = _random.random,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_name = client_name
        self.token = token
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self.retry = retry
        self._random = random

    def build_request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: httpx.Timeout | float | None = None,
    ) -> httpx.Request:
        """A request for `base_url + path`; `None` query values are left out."""
        merged = {CLIENT_HEADER: self.client_name}
        if self.token:
            merged["Authorization"] = f"Bearer {self.token}"
        merged.update(headers or {})
        query = {k: v for k, v in (params or {}).items() if v is not None}
        chosen = (
            self.timeout
            if timeout is None
            else (timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout))
        )
        return httpx.Request(
            method,
            self.base_url + path,
            params=query or None,
            json=json,
            content=content,
            headers=merged,
            extensions={"timeout": chosen.as_dict()},
        )

    def _next_delay(
        self,
        request: httpx.Request,
        policy: RetryPolicy,
        idempotent: bool,
        retry: int,
        started: float,
        *,
        response: httpx.Response | None = None,
        error: BaseException | None = None,
    ) -> float | None:
        delay = retry_delay(
            policy,
            retry=retry,
            elapsed=time.monotonic() - started,
            idempotent=idempotent,
            random=self._random(),
            response=response,
            error=error,
        )
        if delay is not None:
            what = f"answered {response.status_code}" if response is not None else f"failed ({error!r})"
            logger.info(
                "%s %s %s; retry %d in %.2fs",
                request.method,
                request.url,
                what,
                retry + 1,
                delay,
            )
        return delay


class Transport(_TransportBase):
    """Blocking transport. `http_client` (else its own, closed by `close()`) does the I/O."""

    def __init__(
        self,
        base_url: str,
        *,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **options: Any,
    ) -> None:
        super().__init__(base_url, **options)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=self.timeout)
        self._sleep = sleep

    def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        retry: RetryPolicy | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send with retries; the last answer whatever its status.

        Args:
            stream: return before the body is read (the caller closes the response).
            retry: this request's policy instead of the transport's (`NO_RETRY` for a probe).
            idempotent: override the method's idempotency (True for a POST that is safe to repeat).

        Raises:
            ApiConnectionError / ApiTimeoutError: no answer after the retries allowed.
        """
        policy = retry or self.retry
        safe = is_idempotent(request, idempotent)
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                response = self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                delay = self._next_delay(request, policy, safe, attempt, started, error=exc)
                if delay is None:
                    raise connection_error(request, exc) from exc
            else:
                delay = self._next_delay(request, policy, safe, attempt, started, response=response)
                if delay is None:
                    return response
                response.close()
            self._sleep(delay)
            attempt += 1

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncTransport(_TransportBase):
    """asyncio transport with the same behaviour."""

    def __init__(
        self,
        base_url: str,
        *,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        **options: Any,
    ) -> None:
        super().__init__(base_url, **options)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=self.timeout)
        self._sleep = sleep

    async def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        retry: RetryPolicy | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """`Transport.send`, awaited."""
        policy = retry or self.retry
        safe = is_idempotent(request, idempotent)
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                response = await self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                delay = self._next_delay(request, policy, safe, attempt, started, error=exc)
                if delay is None:
                    raise connection_error(request, exc) from exc
            else:
                delay = self._next_delay(request, policy, safe, attempt, started, response=response)
                if delay is None:
                    return response
                await response.aclose()
            await self._sleep(delay)
            attempt += 1

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

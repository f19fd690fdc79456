"""When to send a request again, and how long to wait first (I/O-free; both transports use it).

A request is retried only when doing so cannot act twice:
- a connection that never opened (`httpx.ConnectError`, `ConnectTimeout`): nothing was sent, so
  any method is retried;
- any other transport failure, or an answer in `retry_statuses`, only for an idempotent request:
  GET, HEAD, PUT, DELETE, OPTIONS, or a POST marked idempotent (an `Idempotency-Key` header, or
  `idempotent=True` from the caller).

The wait doubles from `initial_delay` up to `max_delay`, less up to 25% jitter so clients that
failed together do not come back together. A 429/503 answer's `Retry-After` (seconds or an HTTP
date) is honoured, capped at `max_retry_after`. `max_retries` bounds the attempts, `give_up_after`
the seconds spent; either may be None (unbounded), not both.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass, field

import httpx

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
GATEWAY_STATUSES = frozenset({408, 429, 502, 503, 504})
RETRY_AFTER_STATUSES = frozenset({429, 503})
IDEMPOTENCY_HEADER = "Idempotency-Key"


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int | None = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    give_up_after: float | None = None
    retry_statuses: frozenset[int] = field(default=GATEWAY_STATUSES)
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.max_retries is None and self.give_up_after is None:
            raise ValueError("RetryPolicy needs max_retries or give_up_after (else it retries forever)")

    def backoff(self, retry: int, random: float) -> float:
        """The wait before retry number `retry` (0-based), `random` in [0, 1)."""
        base = min(self.initial_delay * (2**retry), self.max_delay)
        return base * (1 - 0.25 * random)

    def can_retry(self, retry: int, elapsed: float, delay: float) -> bool:
        if self.max_retries is not None and retry >= self.max_retries:
            return False
        return self.give_up_after is None or elapsed + delay <= self.give_up_after


NO_RETRY = RetryPolicy(max_retries=0)
DEFAULT_RETRY = RetryPolicy()


def is_idempotent(request: httpx.Request, idempotent: bool | None = None) -> bool:
    if idempotent is not None:
        return idempotent
    return request.method.upper() in IDEMPOTENT_METHODS or IDEMPOTENCY_HEADER.lower() in request.headers


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """`Retry-After` as seconds from now: a number, or an HTTP date (None when absent or unreadable)."""
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def retry_delay(
    policy: RetryPolicy,
    *,
    retry: int,
    elapsed: float,
    idempotent: bool,
    random: float,
    response: httpx.Response | None = None,
    error: BaseException | None = None,
) -> float | None:
    """Seconds to wait before sending again, or None to stop here (the answer or error stands)."""
    if error is not None:
        never_sent = isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout))
        if not (never_sent or (idempotent and isinstance(error, httpx.TransportError))):
            return None
        delay = policy.backoff(retry, random)
    elif response is not None and idempotent and response.status_code in policy.retry_statuses:
        hinted = (
            retry_after_seconds(response.headers.get("retry-after"))
            if response.status_code in RETRY_AFTER_STATUSES
            else None
        )
        delay = min(hinted, policy.max_retry_after) if hinted is not None else policy.backoff(retry, random)
    else:
        return None
    return delay if policy.can_retry(retry, elapsed, delay) else None

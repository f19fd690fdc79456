"""The HTTP transport every arkor client shares: the SDK's clients, the credentials and local-backend
probes, and the training worker's reporter.

A leaf: it imports httpx, the standard library and `arkor.errors` only, so both `arkor.sdk` and
`arkor.engine` may use it. It owns client construction (base URL, `X-Arkor-Client`, bearer token,
timeouts), retries with backoff and jitter for requests that are safe to repeat (honouring
`Retry-After`), and the error tree (`_errors`).
"""

from ._client import (
    CLIENT_HEADER,
    DEFAULT_TIMEOUT,
    AsyncTransport,
    Transport,
    connection_error,
)
from ._errors import (
    ApiConnectionError,
    ApiStatusError,
    ApiTimeoutError,
    ArkorTransportError,
    describe_detail,
)
from ._retry import (
    DEFAULT_RETRY,
    GATEWAY_STATUSES,
    IDEMPOTENT_METHODS,
    NO_RETRY,
    RetryPolicy,
    is_idempotent,
    retry_after_seconds,
    retry_delay,
)

__all__ = [
    "CLIENT_HEADER",
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUT",
    "GATEWAY_STATUSES",
    "IDEMPOTENT_METHODS",
    "NO_RETRY",
    "ApiConnectionError",
    "ApiStatusError",
    "ApiTimeoutError",
    "ArkorTransportError",
    "AsyncTransport",
    "RetryPolicy",
    "Transport",
    "connection_error",
    "describe_detail",
    "is_idempotent",
    "retry_after_seconds",
    "retry_delay",
]

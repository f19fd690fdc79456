"""arkor.transport's pinned surface, and its place in the layering: a leaf both the SDK and the engine import."""

from __future__ import annotations

import ast
from pathlib import Path

import arkor.transport

EXPECTED_ALL = sorted(
    [
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
)


def test_exported_members_are_pinned() -> None:
    assert sorted(arkor.transport.__all__) == EXPECTED_ALL
    assert all(hasattr(arkor.transport, name) for name in EXPECTED_ALL)


def test_imports_only_httpx_stdlib_and_arkor_errors() -> None:
    arkor_imports = set()
    for path in Path(arkor.transport.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("arkor"):
                arkor_imports.add(node.module)
            elif isinstance(node, ast.Import):
                arkor_imports |= {alias.name for alias in node.names if alias.name.startswith("arkor")}
    assert arkor_imports == {"arkor.errors"}


def test_the_sdk_status_error_is_the_transport_status_error() -> None:
    from arkor.errors import ArkorError
    from arkor.sdk.errors import CloudApiError

    error = CloudApiError(404, "Job not found")
    assert isinstance(error, arkor.transport.ApiStatusError) and isinstance(error, ArkorError)
    assert repr(error) == "CloudApiError(status=404, message='Job not found', details=[])"
    assert issubclass(arkor.transport.ApiTimeoutError, arkor.transport.ApiConnectionError)

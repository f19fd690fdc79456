"""arkor.transport's retry policy and send loop, scripted with httpx.MockTransport (no network, no waiting:
the sleep is injected and records the delays it was asked for)."""

from __future__ import annotations

import asyncio
import email.utils

import httpx
import pytest

from arkor.transport import (
    NO_RETRY,
    ApiConnectionError,
    ApiStatusError,
    ApiTimeoutError,
    ArkorTransportError,
    AsyncTransport,
    RetryPolicy,
    Transport,
    retry_after_seconds,
)

BASE = "http://backend.test/base"


def scripted(*steps):
    """A MockTransport answering each request with the next step: an int status, an (int, headers) pair,
    or an exception class raised as if the network failed. Records every request it saw."""
    seen: list[httpx.Request] = []
    queue = list(steps)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        step = queue.pop(0)
        if isinstance(step, type) and issubclass(step, Exception):
            raise step("scripted failure", request=request)
        status, headers = step if isinstance(step, tuple) else (step, {})
        return httpx.Response(status, headers=headers, json={"n": len(seen)})

    return httpx.MockTransport(handle), seen


def transport(mock: httpx.MockTransport, **options) -> tuple[Transport, list[float]]:
    slept: list[float] = []
    return Transport(
        BASE,
        client_name="arkor/test",
        token="tok",
        http_client=httpx.Client(transport=mock),
        sleep=slept.append,
        random=lambda: 0.0,
        **options,
    ), slept


def test_builds_url_headers_and_timeout_once() -> None:
    mock, seen = scripted(200)
    t, _ = transport(mock, timeout=7.0)
    request = t.build_request("GET", "/v1/me", params={"a": "1", "skip": None}, headers={"X-Extra": "y"})
    assert t.send(request).status_code == 200
    sent = seen[0]
    assert str(sent.url) == f"{BASE}/v1/me?a=1"
    assert sent.headers["authorization"] == "Bearer tok" and sent.headers["x-arkor-client"] == "arkor/test"
    assert sent.headers["x-extra"] == "y" and sent.extensions["timeout"]["connect"] == 7.0


def test_get_retries_gateway_statuses_with_doubling_backoff_then_returns_the_answer() -> None:
    mock, seen = scripted(502, 503, 200)
    t, slept = transport(mock, retry=RetryPolicy(max_retries=3, initial_delay=0.5))
    assert t.send(t.build_request("GET", "/x")).status_code == 200
    assert len(seen) == 3 and slept == [0.5, 1.0]


def test_retries_stop_at_max_and_the_last_answer_stands() -> None:
    mock, seen = scripted(503, 503, 503, 200)
    t, slept = transport(mock, retry=RetryPolicy(max_retries=2))
    assert t.send(t.build_request("GET", "/x")).status_code == 503
    assert len(seen) == 3 and len(slept) == 2


def test_retry_after_seconds_and_http_date_are_honoured_and_capped() -> None:
    mock, _seen = scripted((429, {"Retry-After": "3"}), (503, {"Retry-After": "9999"}), 200)
    t, slept = transport(mock, retry=RetryPolicy(max_retries=5, max_retry_after=60.0))
    assert t.send(t.build_request("DELETE", "/x")).status_code == 200
    assert slept == [3.0, 60.0]
    date = email.utils.formatdate(1_000_100.0, usegmt=True)
    assert retry_after_seconds(date, now=1_000_000.0) == 100.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_jitter_shortens_the_wait_by_at_most_a_quarter() -> None:
    policy = RetryPolicy(initial_delay=1.0, max_delay=8.0)
    assert [policy.backoff(n, 0.0) for n in range(5)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert policy.backoff(0, 0.999) > 0.75 and policy.backoff(0, 0.999) < 1.0


@pytest.mark.parametrize("status", [500, 404, 409])
def test_statuses_outside_the_policy_are_not_retried(status: int) -> None:
    mock, seen = scripted(status, 200)
    t, slept = transport(mock)
    assert t.send(t.build_request("GET", "/x")).status_code == status
    assert len(seen) == 1 and slept == []


def test_plain_post_is_not_retried_on_503_or_a_broken_connection() -> None:
    mock, seen = scripted(503, 200)
    t, _ = transport(mock)
    assert t.send(t.build_request("POST", "/x")).status_code == 503 and len(seen) == 1
    mock, seen = scripted(httpx.ReadError, 200)
    t, _ = transport(mock)
    with pytest.raises(ApiConnectionError):
        t.send(t.build_request("POST", "/x"))
    assert len(seen) == 1


def test_post_marked_idempotent_by_header_or_caller_is_retried() -> None:
    mock, seen = scripted(503, 200, httpx.ReadError, 200)
    t, _ = transport(mock)
    keyed = t.build_request("POST", "/v1/jobs", headers={"Idempotency-Key": "k1"})
    assert t.send(keyed).status_code == 200
    assert t.send(t.build_request("POST", "/events"), idempotent=True).status_code == 200
    assert len(seen) == 4


def test_a_connection_that_never_opened_is_retried_for_any_method() -> None:
    mock, seen = scripted(httpx.ConnectError, 201)
    t, slept = transport(mock)
    assert t.send(t.build_request("POST", "/v1/auth/anonymous")).status_code == 201
    assert len(seen) == 2 and len(slept) == 1


def test_exhausted_connection_failures_raise_the_connection_error_naming_the_url() -> None:
    mock, seen = scripted(httpx.ConnectError, httpx.ConnectError, httpx.ConnectError)
    t, _ = transport(mock, retry=RetryPolicy(max_retries=2))
    with pytest.raises(ApiConnectionError) as info:
        t.send(t.build_request("GET", "/v1/jobs", params={"orgSlug": "o"}))
    error = info.value
    assert not isinstance(error, ApiTimeoutError) and isinstance(error, ArkorTransportError)
    assert (error.method, error.url, error.reason) == (
        "GET",
        f"{BASE}/v1/jobs",
        "scripted failure",
    )
    assert f"{BASE}/v1/jobs" in str(error) and "orgSlug" not in str(error)
    assert isinstance(error.__cause__, httpx.ConnectError) and len(seen) == 3


def test_a_timeout_is_the_timeout_error_and_no_retry_sends_once() -> None:
    mock, seen = scripted(httpx.ReadTimeout, 200)
    t, _ = transport(mock)
    with pytest.raises(ApiTimeoutError) as info:
        t.send(t.build_request("GET", "/slow"), retry=NO_RETRY)
    assert isinstance(info.value, ApiConnectionError) and "did not answer in time" in str(info.value)
    assert len(seen) == 1


def test_give_up_after_bounds_an_unlimited_policy() -> None:
    mock, seen = scripted(*([503] * 50))
    policy = RetryPolicy(max_retries=None, give_up_after=0.0, initial_delay=0.2)
    t, slept = transport(mock, retry=policy)
    assert t.send(t.build_request("PUT", "/a")).status_code == 503  # the first wait already passes the budget
    assert len(seen) == 1 and slept == []
    with pytest.raises(ValueError):
        RetryPolicy(max_retries=None, give_up_after=None)


def test_status_error_keeps_status_message_details_and_its_text() -> None:
    error = ApiStatusError(400, "Dataset invalid", [{"path": "a.jsonl", "line": 2, "message": "bad"}])
    assert (error.status, error.message) == (400, "Dataset invalid")
    assert str(error) == "Dataset invalid:\n  a.jsonl:2: bad"
    assert repr(error).startswith("ApiStatusError(status=400")


def test_async_twin_retries_the_same_way() -> None:
    mock, seen = scripted(httpx.ConnectError, (503, {"Retry-After": "2"}), 200)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def go() -> int:
        async with AsyncTransport(
            BASE,
            client_name="arkor/test",
            http_client=httpx.AsyncClient(transport=mock),
            sleep=sleep,
            random=lambda: 0.0,
        ) as t:
            return (await t.send(t.build_request("GET", "/x"))).status_code

    assert asyncio.run(go()) == 200
    assert len(seen) == 3 and slept == [0.5, 2.0]

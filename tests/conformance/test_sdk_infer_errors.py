"""Errors inside a 2xx chat answer raise `InferenceStreamError` whatever their shape: the arkor
backend's `event: error` frame, an OpenAI-style error object in place of a chunk, or a non-streamed
body that is an error; sync and async, iterated or read whole."""

from __future__ import annotations

import asyncio
import json

import pytest

from arkor.sdk.client import AsyncCloudApiClient, CloudApiClient
from arkor.sdk.errors import InferenceStreamError
from arkor.sdk.infer import AsyncInferResponse, InferResponse

SCOPE = {"orgSlug": "o", "projectSlug": "p"}
BODY = {"messages": [{"role": "user", "content": "hi"}]}
FIRST = b'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n'


def _sse(*chunks: bytes):
    return lambda record: (200, {"Content-Type": "text/event-stream"}, b"".join(chunks))


CASES = {
    "event-error": (
        _sse(FIRST, b'event: error\ndata: {"error": "engine crashed"}\n\n', b"data: [DONE]\n\n"),
        "engine crashed",
        "Hel",
    ),
    "event-error-text": (_sse(FIRST, b"event: error\ndata: engine crashed\n\n"), "engine crashed", "Hel"),
    "openai-error-chunk": (
        _sse(FIRST, b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n'),
        "overloaded",
        "Hel",
    ),
    "json-error-body": (
        lambda record: (200, {}, json.dumps({"error": {"message": "no capacity"}}).encode()),
        "no capacity",
        "",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_sync_and_async_raise(backend, case):
    route, message, partial = CASES[case]
    backend.overrides[("POST", "/v1/inference/chat")] = route
    with CloudApiClient(backend.url, {"token": "t"}) as client:
        with pytest.raises(InferenceStreamError) as caught:
            InferResponse(client.chat(SCOPE, BODY)).text()
        assert caught.value.message == message and caught.value.partial_text == partial
        seen = []
        with pytest.raises(InferenceStreamError):
            for delta in InferResponse(client.chat(SCOPE, BODY)):
                seen.append(delta)
        assert "".join(seen) == partial  # the text before the error is still delivered

    async def run() -> None:
        async with AsyncCloudApiClient(backend.url, {"token": "t"}) as client:
            with pytest.raises(InferenceStreamError, match=message):
                await AsyncInferResponse(await client.chat(SCOPE, BODY)).json()

    asyncio.run(run())


def test_the_message_says_what_arrived(backend):
    backend.overrides[("POST", "/v1/inference/chat")] = CASES["event-error"][0]
    with CloudApiClient(backend.url, {"token": "t"}) as client, pytest.raises(InferenceStreamError) as caught:
        InferResponse(client.chat(SCOPE, BODY)).text()
    assert str(caught.value) == "Inference failed mid-answer after 3 character(s) of text: engine crashed"

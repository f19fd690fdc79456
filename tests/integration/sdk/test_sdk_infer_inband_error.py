"""An error the real backend reports mid-answer (`event: error` after some chunks) raises
`InferenceStreamError` from the SDK's responses, sync and async, iterated or read whole. Before,
the frame was dropped: a mid-run evaluation saw a truncated text and no exception.

The fault is injected into the real inference engine (the tiny model really generates first); the
route, its SSE framing and the SDK's decoding are the real ones."""

from __future__ import annotations

import asyncio

import pytest

from arkor.engine.infer.engine import InferenceEngine
from arkor.sdk.client import AsyncCloudApiClient, CloudApiClient
from arkor.sdk.credentials import ensure_credentials
from arkor.sdk.errors import InferenceStreamError
from arkor.sdk.infer import AsyncInferResponse, InferResponse
from arkor.sdk.state import ensure_project_state
from arkor.server.runner import BackgroundServer
from arkor.server.settings import ServerSettings

FAILURE = "CUDA out of memory while decoding (injected)"
BODY = {
    "messages": [{"role": "user", "content": "Ticket 12: the invoice is wrong"}],
    "baseModel": "arkor/tiny-test",
    "maxTokens": 8,
    "temperature": 0,
    "stream": True,
}


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory):
    with pytest.MonkeyPatch.context() as patch:
        home = tmp_path_factory.mktemp("home")
        patch.setenv("ARKOR_HOME", str(home))
        real_stream = InferenceEngine.stream

        def failing_stream(self, *args, **kwargs):
            chunks = real_stream(self, *args, **kwargs)

            def after_two_chunks():
                try:
                    for index, chunk in enumerate(chunks):
                        if index == 2:
                            raise RuntimeError(FAILURE)
                        yield chunk
                finally:
                    chunks.close()

            return after_two_chunks()

        patch.setattr(InferenceEngine, "stream", failing_stream)
        server = BackgroundServer(ServerSettings(data_dir=tmp_path_factory.mktemp("data"), worker_command=None)).start()
        patch.setenv("ARKOR_CLOUD_API_URL", server.url)
        try:
            credentials = ensure_credentials()
            with CloudApiClient(server.url, credentials) as client:
                state = ensure_project_state(
                    cwd=tmp_path_factory.mktemp("project"), client=client, credentials=credentials
                )
            yield server.url, credentials, state
        finally:
            server.stop()


def test_the_backend_sends_an_error_frame(backend) -> None:
    url, credentials, state = backend
    with CloudApiClient(url, credentials) as client:
        response = client.chat(state, BODY)
        raw = response.read().decode()
    assert 'event: error\ndata: {"error": "' + FAILURE + '"}\n\n' in raw, raw
    assert raw.index("event: error") > raw.index("data: {")  # after real chunks


def test_sync_text_and_iteration_raise(backend) -> None:
    url, credentials, state = backend
    with CloudApiClient(url, credentials) as client:
        with pytest.raises(InferenceStreamError) as caught:
            InferResponse(client.chat(state, BODY)).text()
        assert caught.value.message == FAILURE
        assert str(caught.value).startswith("Inference failed mid-answer")
        assert str(caught.value).endswith(f": {FAILURE}")

        response = InferResponse(client.chat(state, BODY))
        seen: list[str] = []
        with pytest.raises(InferenceStreamError) as again:
            for delta in response:
                seen.append(delta)
        assert again.value.partial_text == "".join(seen)
        with pytest.raises(InferenceStreamError):  # a second read of the same answer raises too
            response.json()


def test_async_text_and_iteration_raise(backend) -> None:
    url, credentials, state = backend

    async def run() -> None:
        async with AsyncCloudApiClient(url, credentials) as client:
            with pytest.raises(InferenceStreamError):
                await AsyncInferResponse(await client.chat(state, BODY)).json()
            response = AsyncInferResponse(await client.chat(state, BODY))
            with pytest.raises(InferenceStreamError):
                async for _ in response:
                    pass

    asyncio.run(run())

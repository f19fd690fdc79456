"""The inference engine is a dependency of the app: an engine handed to a real loopback backend
(`BackgroundServer(settings, engine=...)`) answers `/v1/inference/chat` (JSON and SSE) and a
deployment's OpenAI route, instead of a process-wide engine fetched by the routes themselves."""

from __future__ import annotations

import json
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
from server_helpers import FAKE_WORKER, Api

from arkor.protocol import ChatCompletion, ChatCompletionChunk, InferenceChatRequest
from arkor.protocol.inference import AssistantMessage, Choice, ChoiceDelta, ChunkChoice
from arkor.protocol.sse import SSEDecoder
from arkor.server.runner import BackgroundServer
from arkor.server.settings import ServerSettings

MODEL = "arkor/tiny-test"


class RecordingEngine:
    """Answers every request with its own marker text and records what it was asked to run."""

    def __init__(self) -> None:
        self.marker = f"from-the-injected-engine-{uuid.uuid4().hex[:8]}"
        self.calls: list[tuple[str, str, Path | None]] = []
        self._lock = threading.Lock()

    def _record(self, kind: str, model_id: str, adapter_dir: Path | None) -> None:
        with self._lock:
            self.calls.append((kind, model_id, adapter_dir))

    def complete(
        self,
        request: InferenceChatRequest,
        *,
        model_id: str,
        adapter_dir: Path | None = None,
    ) -> ChatCompletion:
        self._record("complete", model_id, adapter_dir)
        return ChatCompletion(
            id="chatcmpl-injected",
            created=1,
            model=model_id,
            choices=[Choice(message=AssistantMessage(content=self.marker), finish_reason="stop")],
        )

    def stream(
        self,
        request: InferenceChatRequest,
        *,
        model_id: str,
        adapter_dir: Path | None = None,
    ) -> Iterator[ChatCompletionChunk]:
        self._record("stream", model_id, adapter_dir)
        for piece in (self.marker[:10], self.marker[10:]):
            yield ChatCompletionChunk(
                id="chatcmpl-injected",
                created=1,
                model=model_id,
                choices=[ChunkChoice(delta=ChoiceDelta(content=piece))],
            )


def _sse_data(response: httpx.Response) -> list[str]:
    decoder = SSEDecoder()
    frames = [*decoder.feed(response.text), *decoder.flush()]
    return [frame.data for frame in frames]


def test_an_injected_engine_answers_the_inference_and_serving_routes(
    tmp_path: Path,
) -> None:
    engine = RecordingEngine()
    settings = ServerSettings(data_dir=tmp_path / "data", worker_command=[sys.executable, str(FAKE_WORKER)])
    with BackgroundServer(settings, engine=engine) as server:
        assert server.app.state.services.engine is engine
        api = Api(server.url)
        body = {
            "messages": [{"role": "user", "content": "hi"}],
            "baseModel": MODEL,
            "maxTokens": 4,
        }

        reply = api.http.post("/v1/inference/chat", params=api.scope, json={**body, "stream": False})
        assert reply.status_code == 200, reply.text
        assert reply.json()["choices"][0]["message"]["content"] == engine.marker

        streamed = api.http.post("/v1/inference/chat", params=api.scope, json={**body, "stream": True})
        assert streamed.status_code == 200, streamed.text
        data = _sse_data(streamed)
        assert data[-1] == "[DONE]"
        assert "".join(json.loads(d)["choices"][0]["delta"]["content"] for d in data[:-1]) == engine.marker

        slug = f"inj-{uuid.uuid4().hex[:8]}"
        created = api.http.post(
            "/v1/endpoints",
            params=api.scope,
            json={
                "slug": slug,
                "target": {"kind": "base_model", "baseModel": MODEL},
                "authMode": "none",
            },
        )
        assert created.status_code == 201, created.text
        served = httpx.post(
            f"{server.url}/d/{slug}/v1/chat/completions",
            timeout=30,
            json={"model": "ignored", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert served.status_code == 200, served.text
        assert served.json()["choices"][0]["message"]["content"] == engine.marker
        assert served.json()["model"] == slug

    assert [(kind, model) for kind, model, _ in engine.calls] == [
        ("complete", MODEL),
        ("stream", MODEL),
        ("complete", MODEL),
    ]
    assert all(adapter is None for _, _, adapter in engine.calls)


def test_each_app_builds_its_own_default_engine(tmp_path: Path) -> None:
    from arkor.engine.infer import InferenceEngine
    from arkor.server.app import create_app

    apps = [create_app(ServerSettings(data_dir=tmp_path / name)) for name in ("a", "b")]
    try:
        engines = [app.state.services.engine for app in apps]
        assert all(isinstance(engine, InferenceEngine) for engine in engines)
        assert engines[0] is not engines[1]
    finally:
        for app in apps:
            app.state.services.db.dispose()

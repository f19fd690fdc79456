"""A scripted training backend on 127.0.0.1 for SDK conformance tests (threaded http.server).

Each connection to the job event stream takes the next item of `backend.streams`:
- an int: answer with that status (`{"error": "<status> scripted"}` body);
- a list of str/bytes chunks: send them, then close cleanly (EOF);
- `Broken([...])`: promise more bytes than sent, then drop the connection (mid-stream error);
- `Hang([...])`: send the chunks, then keep the socket open until the server stops.
Every request is recorded in `backend.requests`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from arkor.protocol.sse import encode_frame


@dataclass
class Broken:
    chunks: list[Any]


@dataclass
class Hang:
    chunks: list[Any]


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def event(type_: str, id_: int | str | None = None, **data: Any) -> bytes:
    payload = {"type": type_, "jobId": "job_1", "timestamp": f"2026-01-01T00:00:{int(id_ or 0):02d}Z", **data}
    return encode_frame(type_, payload, id=id_)


def happy_stream() -> list[bytes]:
    return [
        event("training.started", 1),
        event("training.log", 2, step=1, loss=2.5, learningRate=0.001, epoch=0.1),
        event("checkpoint.saved", 3, step=1, artifacts=[{"pathname": "checkpoints/step-1/adapter_model.safetensors"}]),
        event("training.completed", 4, metrics={"trainLoss": 2.0}, artifacts=[{"pathname": "final/adapter.json"}]),
    ]


JOB = {
    "id": "job_1",
    "orgId": "org_1",
    "projectId": "prj_1",
    "name": "t",
    "status": "queued",
    "config": {"model": "arkor/tiny-test", "datasetSource": {"type": "huggingface", "name": "x"}},
    "createdAt": "2026-01-01T00:00:00Z",
}


@dataclass
class ScriptedBackend:
    streams: list[Any] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    overrides: dict[tuple[str, str], Callable[[Recorded], tuple[int, dict[str, str], bytes]]] = field(
        default_factory=dict
    )
    chat_chunks: list[bytes] = field(
        default_factory=lambda: [
            b'data: {"choices":[{"delta":{"role":"assistant"}}]}\n\n',
            b'data: {"choices":[{"delta":{"content":"Hello"}}]}\n\n',
            b"event: ping\ndata: \n\n",
            b'data: {"choices":[{"delta":{"content":" from"}}]}\n\n',
            b'data: {"choices":[{"delta":{"content":" e2e"}}]}\n\n',
            b"data: [DONE]\n\n",
        ]
    )
    url: str = ""
    _stop: threading.Event = field(default_factory=threading.Event)

    def paths(self, method: str | None = None) -> list[str]:
        return [r.path for r in self.requests if method is None or r.method == method]

    def of(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]


def _handler(backend: ScriptedBackend) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", (headers or {}).pop("Content-Type", "application/json"))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _stream(self, item: Any) -> None:
            if isinstance(item, int):
                return self._send(item, {"error": f"{item} scripted"})
            chunks = item.chunks if isinstance(item, (Broken, Hang)) else item
            data = [c if isinstance(c, bytes) else c.encode() for c in chunks]
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            if isinstance(item, Broken):
                self.send_header("Content-Length", str(sum(map(len, data)) + 1000))
            self.end_headers()
            for chunk in data:
                self.wfile.write(chunk)
                self.wfile.flush()
            if isinstance(item, Hang):
                backend._stop.wait()

        def _handle(self, method: str) -> None:
            parsed = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            record = Recorded(
                method,
                parsed.path,
                {k: v[0] for k, v in parse_qs(parsed.query).items()},
                {k.lower(): v for k, v in self.headers.items()},
                self.rfile.read(length) if length else b"",
            )
            backend.requests.append(record)
            override = backend.overrides.get((method, parsed.path))
            if override is not None:
                status, headers, body = override(record)
                return self._send(status, body, dict(headers))
            path = parsed.path
            if method == "POST" and path == "/v1/auth/anonymous":
                return self._send(
                    200,
                    {
                        "token": "anon-token",
                        "anonymousId": "anon_1",
                        "kind": "cli",
                        "personalOrg": {"id": "org_1", "slug": "anon-org", "name": "Anon"},
                    },
                )
            if method == "POST" and path == "/v1/projects":
                body = record.json()
                return self._send(201, {"project": {"id": "prj_1", "orgId": "org_1", **body}})
            if method == "GET" and path == "/v1/projects":
                return self._send(200, {"org": {"slug": record.query.get("orgSlug")}, "projects": []})
            if method == "POST" and path == "/v1/jobs":
                body = record.json()
                return self._send(201, {"job": {**JOB, "name": body["name"], "config": body["config"]}})
            if method == "POST" and path == "/v1/datasets":
                return self._send(
                    201,
                    {
                        "datasetId": "ds_1",
                        "filename": record.headers.get("x-arkor-filename"),
                        "rows": 1,
                        "format": "messages",
                        "size": len(record.body),
                        "sha256": "x",
                        "created": True,
                    },
                )
            if method == "POST" and path.endswith("/cancel"):
                return self._send(200, {"ok": True})
            if method == "GET" and path.endswith("/events/stream"):
                item = backend.streams.pop(0) if backend.streams else 503
                return self._stream(item)
            if method == "POST" and path == "/v1/inference/chat":
                return self._stream(list(backend.chat_chunks))
            if method == "GET" and path == "/v1/me":
                return self._send(200, {"user": {"id": "u1"}, "orgs": []})
            return self._send(404, {"error": f"no mock for {method} {path}"})

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PATCH(self) -> None:
            self._handle("PATCH")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

    return Handler


class _QuietServer(ThreadingHTTPServer):
    """Reconnect tests drop connections on purpose; a client hanging up is not worth a traceback."""

    def handle_error(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class running_backend:
    """Context manager: a ScriptedBackend listening on a free loopback port."""

    def __init__(self) -> None:
        self.backend = ScriptedBackend()
        self.server = _QuietServer(("127.0.0.1", 0), _handler(self.backend))
        self.server.daemon_threads = True
        self.backend.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> ScriptedBackend:
        self.thread.start()
        return self.backend

    def __exit__(self, *exc: object) -> None:
        self.backend._stop.set()
        self.server.shutdown()
        self.server.server_close()

"""The worker's BackendReporter delivers through arkor.transport: a 503 is redelivered, a 507 stops the run
with the backend's message, another 4xx is logged and dropped; a backend that stays down names its URL."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self

import pytest

from arkor.engine.reporting import BackendReporter, StorageFullError
from arkor.protocol import ReportTarget, TrainingLog
from arkor.transport import ApiConnectionError


class Backend:
    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.seen: list[tuple[str, str, str | None]] = []
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                backend.seen.append(("POST", self.path, self.headers.get("Authorization")))
                status = backend.statuses.pop(0) if backend.statuses else 200
                body = json.dumps({"error": "disk full on the backend"} if status == 507 else {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.02},
            daemon=True,
        )

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _reporter(url: str, tmp_path: Path, **options: float) -> BackendReporter:
    return BackendReporter(
        "job_1",
        tmp_path / "out",
        ReportTarget(url=url, token="worker-token"),
        **options,
    )


def test_a_503_is_redelivered_and_each_post_carries_the_worker_token(
    tmp_path: Path,
) -> None:
    with Backend([503, 200]) as backend:
        reporter = _reporter(backend.url, tmp_path)
        reporter.emit(TrainingLog(step=1, loss=1.0))
        reporter.close()
    assert [path for _, path, _ in backend.seen] == ["/internal/jobs/job_1/events"] * 2
    assert {auth for _, _, auth in backend.seen} == {"Bearer worker-token"}


def test_507_raises_storage_full_with_the_backends_message(tmp_path: Path) -> None:
    with Backend([507]) as backend:
        reporter = _reporter(backend.url, tmp_path)
        with pytest.raises(StorageFullError, match="disk full on the backend"):
            reporter.emit(TrainingLog(step=1, loss=1.0))
        reporter.close()
    assert len(backend.seen) == 1


def test_a_refusal_is_logged_and_not_retried(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with Backend([400]) as backend:
        reporter = _reporter(backend.url, tmp_path)
        reporter.emit(TrainingLog(step=1, loss=1.0))
        reporter.close()
    assert len(backend.seen) == 1 and "backend refused POST /events: 400" in caplog.text


def test_a_backend_that_stays_down_names_its_url(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    reporter = _reporter(url, tmp_path, give_up_after_s=0.0)
    with pytest.raises(ApiConnectionError) as info:
        reporter.emit(TrainingLog(step=1, loss=1.0))
    reporter.close()
    assert info.value.url == f"{url}/internal/jobs/job_1/events" and "gave up after 0s" in str(info.value)

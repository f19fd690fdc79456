"""Helpers for backend integration tests: a small HTTP client that speaks the wire contract."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from arkor.protocol.sse import SSEDecoder, SSEFrame

FAKE_WORKER = Path(__file__).with_name("fake_worker.py")


def backend_factory(data_dir: Path, **defaults: Any) -> Iterator[Callable[..., Any]]:
    """The body of a `make_backend` fixture: `start(**overrides)` runs a real backend on 127.0.0.1
    (SQLite under `data_dir`, the scripted fake worker unless overridden); every one started is
    stopped when the fixture ends."""
    from arkor.server.runner import BackgroundServer
    from arkor.server.settings import ServerSettings

    servers: list[BackgroundServer] = []

    def start(**overrides: Any) -> BackgroundServer:
        settings = {
            "data_dir": data_dir,
            "worker_command": [sys.executable, str(FAKE_WORKER)],
            "heartbeat_timeout_s": 30,
            "cancel_grace_s": 3,
            "watchdog_interval_s": 0.2,
            **defaults,
            **overrides,
        }
        server = BackgroundServer(ServerSettings(**settings)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        if server.server.started and not server.server.should_exit:
            server.stop()


CLIENT_HEADER = {"X-Arkor-Client": "arkor/0.1.0"}


class Api:
    """An anonymous caller with one project."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, headers=CLIENT_HEADER, timeout=30)
        anon = self.http.post("/v1/auth/anonymous", json={"kind": "cli"}).json()
        self.token = anon["token"]
        self.org = anon["personalOrg"]["slug"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"
        self.project = "proj"
        response = self.http.post(
            "/v1/projects", params={"orgSlug": self.org}, json={"name": "Proj", "slug": self.project}
        )
        assert response.status_code == 201, response.text
        self.scope = {"orgSlug": self.org, "projectSlug": self.project}

    def submit(self, model: str = "fake/fast", headers: dict | None = None, **config: Any) -> dict:
        body = {
            "name": "run",
            "config": {"model": model, "datasetSource": {"type": "huggingface", "name": "x"}, **config},
        }
        response = self.http.post("/v1/jobs", params=self.scope, json=body, headers=headers or {})
        assert response.status_code == 201, response.text
        return response.json()["job"]

    def job(self, job_id: str) -> dict:
        response = self.http.get(f"/v1/jobs/{job_id}", params=self.scope)
        assert response.status_code == 200, response.text
        return response.json()["job"]

    def wait_status(self, job_id: str, statuses: set[str], timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if job["status"] in statuses:
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not reach {statuses}; last {job}")

    def frames(
        self,
        job_id: str,
        *,
        last_event_id: int | None = None,
        limit: int | None = None,
        include_pings: bool = False,
        timeout: float = 60,
    ) -> list[SSEFrame]:
        """Frames of the job's event stream until `end` (or `limit` event frames, then disconnect)."""
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        decoder = SSEDecoder()
        frames: list[SSEFrame] = []
        with self.http.stream(
            "GET", f"/v1/jobs/{job_id}/events/stream", params=self.scope, headers=headers, timeout=timeout
        ) as response:
            assert response.status_code == 200, response.read()
            for chunk in response.iter_text():
                for frame in decoder.feed(chunk):
                    if frame.event == "ping" and not include_pings:
                        continue
                    frames.append(frame)
                    if frame.event == "end":
                        return frames
                    if limit is not None and len(frames) >= limit:
                        return frames
        return frames


def events_of(frames: list[SSEFrame]) -> list[dict]:
    return [frame.json() for frame in frames if frame.event not in ("end", "ping")]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is gone for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ", 1)[1].split()[0] != "Z"
    except OSError:
        return False

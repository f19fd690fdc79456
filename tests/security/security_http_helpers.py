"""Shared by tests/security/test_security_http_*.py: loopback servers (in-process and as a separate
process, for RSS and rlimit checks), an anonymous caller, and a raw-socket client that can send
headers without a body (to prove a refusal came before the body was read). Test modules import
`isolated_home` from here (an autouse fixture; no conftest, so nothing is shared by accident)."""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from arkor.server.runner import BackgroundServer
from arkor.server.settings import ServerSettings

REPO = Path(__file__).resolve().parents[2]
FAKE_WORKER = REPO / "tests" / "integration" / "server" / "fake_worker.py"
CLIENT_HEADER = {"X-Arkor-Client": "arkor/0.1.0"}
MiB = 1024 * 1024


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ARKOR_HOME", str(tmp_path / "home" / ".arkor"))


def server_settings(data_dir: Path, **overrides: Any) -> ServerSettings:
    return ServerSettings(
        **{
            "data_dir": data_dir,
            "worker_command": [sys.executable, str(FAKE_WORKER)],
            "heartbeat_timeout_s": 120,
            "cancel_grace_s": 2,
            "sse_ping_interval_s": 1,
            "watchdog_interval_s": 0.2,
            **overrides,
        }
    )


@contextmanager
def running_backend(data_dir: Path, **overrides: Any) -> Iterator[BackgroundServer]:
    server = BackgroundServer(server_settings(data_dir, **overrides)).start()
    try:
        yield server
    finally:
        server.stop()


class Caller:
    """An anonymous user with one project `proj` (or the given slug)."""

    def __init__(self, url: str, project: str = "proj") -> None:
        self.http = httpx.Client(base_url=url, headers=CLIENT_HEADER, timeout=30)
        anon = self.http.post("/v1/auth/anonymous", json={"kind": "cli"})
        assert anon.status_code == 200, anon.text
        self.token = anon.json()["token"]
        self.org = anon.json()["personalOrg"]["slug"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"
        self.add_project(project)
        self.scope = {"orgSlug": self.org, "projectSlug": project}

    def add_project(self, slug: str) -> None:
        response = self.http.post("/v1/projects", params={"orgSlug": self.org}, json={"name": slug, "slug": slug})
        assert response.status_code == 201, response.text

    def submit(
        self, model: str = "fake/fast", *, project: str | None = None, headers: dict | None = None
    ) -> httpx.Response:
        scope = {**self.scope, **({"projectSlug": project} if project else {})}
        body = {"name": "run", "config": {"model": model, "datasetSource": {"type": "huggingface", "name": "x"}}}
        return self.http.post("/v1/jobs", params=scope, json=body, headers=headers or {})


def host_port(url: str) -> tuple[str, int]:
    rest = url.split("://", 1)[1].rstrip("/")
    host, port = rest.rsplit(":", 1)
    return host, int(port)


def raw_request(url: str, head: str, body: bytes = b"", *, timeout: float = 20.0) -> tuple[int, dict[str, str], bytes]:
    """Send `head` (request line + headers, no blank line) and `body`; read the whole answer."""
    with socket.create_connection(host_port(url), timeout=timeout) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\n\r\n" + body)
        return read_response(sock)


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed before a response: {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, headers, rest[:length]


def send_chunked_until_refused(
    url: str, head: str, total: int, *, chunk_size: int = 256 * 1024, timeout: float = 30.0
) -> tuple[int | None, int]:
    """Stream up to `total` bytes as a chunked body, stopping when the server answers or hangs up.

    Returns (status or None when the connection was reset before an answer could be read, bytes sent).
    """
    sent = 0
    chunk = b"x" * chunk_size
    with socket.create_connection(host_port(url), timeout=timeout) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\nTransfer-Encoding: chunked\r\n\r\n")
        try:
            while sent < total:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            return read_response(sock)[0], sent
        except (ConnectionError, OSError):
            return None, sent


class ServerProcess:
    """`python -m arkor.server serve` on 127.0.0.1:0 in its own process (its RSS and rlimits are its own)."""

    def __init__(self, root: Path, env: dict[str, str] | None = None, nofile_soft: int | None = None) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.record = root / "server.json"
        self.log = root / "server.log"
        self.env = {
            **os.environ,
            "ARKOR_HOME": str(root / "home"),
            "HOME": str(root / "home"),
            "ARKOR_WORKER_COMMAND": json.dumps([sys.executable, str(FAKE_WORKER)]),
            **(env or {}),
        }
        self.nofile_soft = nofile_soft
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def _limit_files(self) -> None:
        if self.nofile_soft is not None:
            _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile_soft, hard))

    def start(self, timeout: float = 60.0) -> ServerProcess:
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "arkor.server",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--data-dir",
                    str(self.root / "data"),
                    "--record",
                    str(self.record),
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=self._limit_files,
            )
        deadline = time.monotonic() + timeout
        while not self.record.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("server did not start:\n" + self.log.read_text())
            time.sleep(0.05)
        self.url = json.loads(self.record.read_text())["url"]
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""Shared pieces of the data-security tests (test_security_data_*.py): a real backend on loopback with
the scripted fake worker, an anonymous caller with its own org, and a loopback "origin" HTTP server that
counts requests and checks a bearer token. Test modules import the fixtures from here (no conftest, so
other security test files keep theirs)."""

from __future__ import annotations

import contextlib
import http.server
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from arkor.server.runner import BackgroundServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "server"))
from server_helpers import backend_factory  # noqa: E402

CLIENT_HEADER = {"X-Arkor-Client": "arkor/0.1.0"}


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARKOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ARKOR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ARKOR_BLOB_ALLOW_PRIVATE", raising=False)
    monkeypatch.delenv("ARKOR_FILE_DATASET_ROOTS", raising=False)


@pytest.fixture
def make_backend(tmp_path: Path) -> Iterator[Callable[..., BackgroundServer]]:
    yield from backend_factory(tmp_path / "data")


class Caller:
    """An anonymous user: its own personal org and one project."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, headers=CLIENT_HEADER, timeout=60)
        anon = self.http.post("/v1/auth/anonymous", json={"kind": "cli"})
        assert anon.status_code in (200, 201), anon.text
        self.http.headers["Authorization"] = f"Bearer {anon.json()['token']}"
        self.org = anon.json()["personalOrg"]["slug"]
        project = f"p{uuid.uuid4().hex[:8]}"
        created = self.http.post("/v1/projects", params={"orgSlug": self.org}, json={"name": project, "slug": project})
        assert created.status_code == 201, created.text
        self.scope = {"orgSlug": self.org, "projectSlug": project}

    def create_job(self, source: dict, model: str = "fake/fast", **config: Any) -> httpx.Response:
        body = {"name": "run", "config": {"model": model, "datasetSource": source, **config}}
        return self.http.post("/v1/jobs", params=self.scope, json=body)

    def upload(self, data: bytes, filename: str) -> httpx.Response:
        return self.http.post(
            "/v1/datasets",
            params=self.scope,
            content=data,
            headers={"X-Arkor-Filename": filename, "Content-Type": "application/octet-stream"},
        )

    def job(self, job_id: str, **params: Any) -> dict:
        response = self.http.get(f"/v1/jobs/{job_id}", params={**self.scope, **params})
        assert response.status_code == 200, response.text
        return response.json()

    def wait_end(self, job_id: str, attempts: int = 2400) -> dict:
        import time

        for _ in range(attempts):
            job = self.job(job_id)["job"]
            if job["status"] in ("completed", "failed", "cancelled"):
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not end: {job}")


class Origin:
    """A loopback HTTP server standing in for a dataset host (or an internal service). Counts the
    requests it gets; `routes` maps a path to a handler returning (status, headers, body), or None
    when it wrote the answer itself."""

    def __init__(
        self, routes: dict[str, Callable[[Any], tuple[int, dict[str, str], bytes]]], host: str = "127.0.0.1"
    ) -> None:
        self.requests: list[tuple[str, str | None, str | None]] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                owner.requests.append((self.path, self.headers.get("Authorization"), self.headers.get("Host")))
                handler = routes.get(self.path.split("?", 1)[0])
                answer = handler(self) if handler else (404, {}, b"no such thing here: secret-origin-text")
                if answer is None:  # the handler wrote its own answer
                    return
                status, headers, body = answer
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if "Content-Length" not in headers and "Transfer-Encoding" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.host = host
        self.port = self.httpd.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Origin:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def rows_jsonl(count: int, prefix: str = "row") -> bytes:
    return b"".join(b'{"prompt": "%s %d", "completion": "ok"}\n' % (prefix.encode(), i) for i in range(count))


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on (bound, then closed)."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    yield port


class ServerProcess:
    """`python -m arkor.server serve` in its own process (so its memory can be measured), on a free
    loopback port; `env` adds ARKOR_* settings. Stopped with SIGTERM by `close()`."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None, src: str | None = None) -> None:
        import json
        import os
        import subprocess
        import time

        record = data_dir.parent / f"record-{uuid.uuid4().hex}.json"
        full_env = {**os.environ, **(env or {})}
        if src:
            full_env["PYTHONPATH"] = src
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "arkor.server",
                "serve",
                "--port",
                "0",
                "--data-dir",
                str(data_dir),
                "--record",
                str(record),
            ],
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(1200):
            if record.exists():
                break
            if self.process.poll() is not None:
                raise RuntimeError("the backend exited before listening")
            time.sleep(0.05)
        else:
            raise RuntimeError("the backend did not start")
        self.url = json.loads(record.read_text())["url"]
        self.pid = self.process.pid

    def rss(self) -> int:
        import psutil

        return psutil.Process(self.pid).memory_info().rss

    def close(self) -> None:
        import signal

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except Exception:
                self.process.kill()
                self.process.wait()


def parquet_bomb(path: Path, rows: int) -> Path:
    """A few KB of Parquet that decodes to `rows` identical rows (dictionary + RLE encoding)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"text": pa.array(["x"], pa.string())})
    writer = pq.ParquetWriter(path, table.schema, compression="zstd", use_dictionary=True)
    chunk = pa.table(
        {
            "text": pa.DictionaryArray.from_arrays(pa.array([0] * 1_000_000, pa.int32()), pa.array(["x"])).cast(
                pa.string()
            )
        }
    )
    written = 0
    while written < rows:
        part = chunk.slice(0, min(len(chunk), rows - written))
        writer.write_table(part, row_group_size=len(part))
        written += len(part)
    writer.close()
    return path

"""arkor.transport against real sockets on 127.0.0.1: a server that drops the first connection and then
answers 503 with Retry-After before it succeeds; a refused connection as the SDK and the CLI report it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Self

import pytest

from arkor.sdk.client import CloudApiClient
from arkor.sdk.errors import ApiConnectionError, CloudApiError
from arkor.transport import RetryPolicy

ME = json.dumps({"user": {"id": "u1", "name": "n"}, "orgs": []}).encode()


class FlakyServer:
    """Answers connection by connection: `plan` items are "drop" (close before any answer), a status int
    (with `Retry-After: 0`), or "ok" (200 with a /v1/me body). Counts connections it accepted."""

    def __init__(self, plan: list[object]) -> None:
        self.plan = list(plan)
        self.accepted = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while self.plan:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            if not self.plan:  # the test is over: this was __exit__ waking accept() up
                conn.close()
                return
            self.accepted += 1
            step = self.plan.pop(0)
            with conn:
                _read_head(conn)
                if step == "drop":
                    continue
                if step == "ok":
                    head, body = "200 OK", ME
                    extra = ""
                else:
                    head, body, extra = (
                        f"{step} Busy",
                        b'{"error":"busy"}',
                        "Retry-After: 0\r\n",
                    )
                conn.sendall(
                    (
                        f"HTTP/1.1 {head}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                        f"Connection: close\r\n{extra}\r\n"
                    ).encode()
                    + body
                )

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.plan.clear()
        try:  # closing a listening socket does not wake a thread blocked in accept(); a connection does
            socket.create_connection(self.listener.getsockname(), timeout=5).close()
        except OSError:
            pass
        self.thread.join(timeout=10)
        self.listener.close()


def _read_head(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk


def refused_url() -> str:
    """A loopback port nothing listens on (bound, then closed: the kernel refuses connections to it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_a_dropped_connection_then_503_with_retry_after_then_success() -> None:
    with (
        FlakyServer(["drop", 503, "ok"]) as server,
        CloudApiClient(server.url, token="t", retry=RetryPolicy(max_retries=3, initial_delay=0.05)) as client,
    ):
        me = client.get_me()
    assert me.user.id == "u1" and server.accepted == 3


def test_without_retries_left_the_503_is_the_status_error() -> None:
    with (
        FlakyServer([503, "ok"]) as server,
        CloudApiClient(server.url, token="t", retry=RetryPolicy(max_retries=0)) as client,
        pytest.raises(CloudApiError) as info,
    ):
        client.get_me()
    assert (info.value.status, info.value.message) == (
        503,
        "busy",
    ) and server.accepted == 1


def test_a_post_that_is_not_idempotent_is_sent_once() -> None:
    with (
        FlakyServer(["drop", "ok"]) as server,
        CloudApiClient(server.url, token="t", retry=RetryPolicy(max_retries=3, initial_delay=0.05)) as client,
        pytest.raises(ApiConnectionError),
    ):
        client.cancel_job("job_1", {"orgSlug": "o", "projectSlug": "p"})
    assert server.accepted == 1


def test_connection_refused_is_the_connection_error_naming_the_url() -> None:
    url = refused_url()
    with (
        CloudApiClient(url, token="t", retry=RetryPolicy(max_retries=1, initial_delay=0.05)) as client,
        pytest.raises(ApiConnectionError) as info,
    ):
        client.list_jobs({"orgSlug": "o", "projectSlug": "p"})
    assert info.value.url == f"{url}/v1/jobs" and info.value.method == "GET"
    assert f"Could not reach the backend at {url}/v1/jobs (GET): " in str(info.value)
    assert "refused" in info.value.reason.lower()


def test_the_cli_says_which_backend_it_could_not_reach(tmp_path: Path) -> None:
    url = refused_url()
    home = tmp_path / "home"
    (home / ".arkor").mkdir(parents=True)
    (home / ".arkor" / "credentials.json").write_text(
        json.dumps(
            {
                "mode": "anon",
                "token": "t",
                "anonymousId": "a",
                "orgSlug": "o",
                "arkorCloudApiUrl": url,
            }
        )
    )
    project = tmp_path / "proj"
    (project / ".arkor").mkdir(parents=True)
    (project / ".arkor" / "state.json").write_text(json.dumps({"orgSlug": "o", "projectSlug": "p", "projectId": "x"}))
    env = {
        **os.environ,
        "HOME": str(home),
        "ARKOR_HOME": str(home / ".arkor"),
        "NO_COLOR": "1",
    }
    env.pop("ARKOR_CLOUD_API_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "arkor.cli.main", "jobs", "list"],
        check=False,
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert f"Error: the arkor backend could not be reached (GET {url}/v1/jobs: " in result.stderr, result.stderr
    assert "Check ARKOR_CLOUD_API_URL / `arkor login --url`, or unset them to use the local backend." in result.stderr
    assert "Traceback" not in result.stderr

"""Event streams are bounded per token and in total, and the server keeps answering at the cap.

Before: one anonymous token opened 1,050 SSE streams; at a 1,024 file limit `/healthz`, sign-up and
`/v1/me` stopped answering and the log filled with "Too many open files".
"""

from __future__ import annotations

import resource
import socket
import time
from pathlib import Path

import httpx
import psutil
import pytest
from security_http_helpers import CLIENT_HEADER, Caller, ServerProcess, host_port, isolated_home, running_backend  # noqa: F401 (autouse fixture)

PER_TOKEN = 5
TOTAL = 8


def open_stream(url: str, caller: Caller, job_id: str) -> tuple[int, socket.socket, bytes]:
    """A raw SSE request; returns (status, the open socket, the error body when refused)."""
    host = url.split("://", 1)[1]
    query = f"orgSlug={caller.org}&projectSlug=proj"
    head = (
        f"GET /v1/jobs/{job_id}/events/stream?{query} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n"
        f"X-Arkor-Client: arkor/0.1.0\r\nAuthorization: Bearer {caller.token}\r\n\r\n"
    )
    sock = socket.create_connection(host_port(url), timeout=20)
    sock.sendall(head.encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(data)
        data += chunk
    status = int(data.split(b" ", 2)[1])
    if status == 200:
        return status, sock, b""
    head_bytes, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1]) for line in head_bytes.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    sock.close()
    return status, sock, body


def _open_until(url: str, caller: Caller, job_id: str, want: int, deadline_s: float = 20.0) -> socket.socket:
    deadline = time.monotonic() + deadline_s
    while True:
        status, sock, _ = open_stream(url, caller, job_id)
        if status == want:
            return sock
        assert time.monotonic() < deadline, f"stream never answered {want} (last {status})"
        time.sleep(0.1)


def test_streams_are_capped_per_token_and_in_total_and_the_server_still_answers(tmp_path: Path) -> None:
    with running_backend(tmp_path / "data", max_event_streams_per_token=PER_TOKEN, max_event_streams=TOTAL) as server:
        first, second, third = Caller(server.url), Caller(server.url), Caller(server.url)
        jobs = {c.token: c.submit("fake/silent").json()["job"]["id"] for c in (first, second, third)}
        held: list[socket.socket] = []
        try:
            for _ in range(PER_TOKEN):
                status, sock, _ = open_stream(server.url, first, jobs[first.token])
                assert status == 200
                held.append(sock)
            status, _, body = open_stream(server.url, first, jobs[first.token])
            assert status == 429 and b"ARKOR_MAX_EVENT_STREAMS_PER_TOKEN" in body and b'"error"' in body, body
            for _ in range(TOTAL - PER_TOKEN):
                status, sock, _ = open_stream(server.url, second, jobs[second.token])
                assert status == 200
                held.append(sock)
            status, _, body = open_stream(server.url, third, jobs[third.token])
            assert status == 429 and b"ARKOR_MAX_EVENT_STREAMS" in body and b"too_many_streams" in body, body

            # At the cap the rest of the API answers (a 2 s client timeout: a hang fails the test).
            assert httpx.get(server.url + "/healthz", timeout=2).status_code == 200
            assert first.http.get("/v1/me", timeout=2).status_code == 200
            assert httpx.post(server.url + "/v1/auth/anonymous", headers=CLIENT_HEADER, timeout=2).status_code == 200

            # A closed stream gives its slot back.
            held.pop(0).close()
            held.append(_open_until(server.url, first, jobs[first.token], 200))
        finally:
            for sock in held:
                sock.close()
        held = [_open_until(server.url, third, jobs[third.token], 200)]  # every slot came back
        for sock in held:
            sock.close()


def test_the_open_file_limit_is_raised_to_the_hard_limit(tmp_path: Path) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= 256:
        pytest.skip(f"hard RLIMIT_NOFILE is {hard}: nothing to raise")
    with ServerProcess(tmp_path / "srv", nofile_soft=256) as server:
        soft_now, hard_now = psutil.Process(server.pid).rlimit(psutil.RLIMIT_NOFILE)
        assert hard_now == hard
        assert soft_now == (hard if hard != resource.RLIM_INFINITY else 1 << 20), (soft_now, hard)

"""Request bodies are bounded while they are read, and credentials are checked before any body is.

Before: FastAPI parsed the whole JSON body before auth, so a 40 MB anonymous POST to
`/internal/jobs/<id>/events` grew the server by ~2 GB.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import psutil
from security_http_helpers import (
    CLIENT_HEADER,
    Caller,
    MiB,
    ServerProcess,
    isolated_home,  # noqa: F401 (isolated_home: autouse fixture)
    raw_request,
    running_backend,
    send_chunked_until_refused,
)

FORTY_MB = 40 * MiB


def _head(method: str, path: str, url: str, headers: dict[str, str]) -> str:
    host = url.split("://", 1)[1].rstrip("/")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return "\r\n".join(lines)


def test_a_content_length_over_the_cap_is_refused_before_the_body_is_sent(tmp_path: Path) -> None:
    with running_backend(tmp_path / "data") as server:
        caller = Caller(server.url)
        authed = {**CLIENT_HEADER, "Authorization": f"Bearer {caller.token}"}
        routes = [
            ("POST", "/internal/jobs/job_nope/events", {}),
            ("POST", f"/v1/jobs?orgSlug={caller.org}&projectSlug=proj", authed),
            ("POST", f"/v1/jobs?orgSlug={caller.org}&projectSlug=proj", CLIENT_HEADER),
            ("POST", f"/v1/projects?orgSlug={caller.org}", authed),
            ("POST", "/v1/auth/anonymous", CLIENT_HEADER),
            ("POST", "/d/some-slug/v1/chat/completions", {}),
            ("PATCH", "/v1/endpoints/dep_x?orgSlug=a&projectSlug=b", authed),
        ]
        for method, path, headers in routes:
            # Only the headers go out: an answer proves the server did not wait for the 40 MB.
            status, _, body = raw_request(
                server.url, _head(method, path, server.url, {**headers, "Content-Length": str(FORTY_MB)})
            )
            assert status == 413, (method, path, status, body)
            error = json.loads(body)
            setting = "ARKOR_MAX_EVENT_BATCH_BYTES" if path.endswith("/events") else "ARKOR_MAX_JSON_BODY_BYTES"
            assert setting in error["error"] and error["code"] == "payload_too_large", error
        status, _, body = raw_request(
            server.url, _head("POST", "/internal/jobs/job_nope/events", server.url, {"Content-Length": str(17 * MiB)})
        )
        assert status == 413 and "ARKOR_MAX_EVENT_BATCH_BYTES" in json.loads(body)["error"]
        status, _, body = raw_request(
            server.url, _head("POST", "/v1/jobs", server.url, {**authed, "Content-Length": "12abc"})
        )
        assert status == 400  # uvicorn refuses a malformed Content-Length itself


def test_credentials_are_checked_before_the_body_is_read(tmp_path: Path) -> None:
    with running_backend(tmp_path / "data") as server:
        caller = Caller(server.url)
        job = caller.submit("fake/fast").json()["job"]
        under_cap = {"Content-Length": str(512 * 1024)}  # within every cap; never sent
        cases = [
            ("POST", f"/internal/jobs/{job['id']}/events", {}),
            (
                "POST",
                f"/internal/jobs/{job['id']}/events",
                {"Authorization": f"Bearer {caller.token}"},
            ),  # a user token is no worker token
            ("POST", f"/internal/jobs/{job['id']}/heartbeat", {"Authorization": "Bearer wrong"}),
            ("PUT", f"/internal/jobs/{job['id']}/artifacts/final/x.bin", {}),
            ("POST", f"/v1/jobs?orgSlug={caller.org}&projectSlug=proj", CLIENT_HEADER),
            (
                "POST",
                f"/v1/inference/chat?orgSlug={caller.org}&projectSlug=proj",
                {**CLIENT_HEADER, "Authorization": "Bearer ark_forged"},
            ),
            ("POST", "/v1/datasets?orgSlug=x&projectSlug=y", CLIENT_HEADER),
        ]
        for method, path, headers in cases:
            status, response_headers, body = raw_request(
                server.url, _head(method, path, server.url, {**headers, **under_cap})
            )
            assert status == 401, (method, path, status, body)
            assert json.loads(body)["code"] == "unauthorized"


def test_a_chunked_body_is_cut_off_at_the_cap(tmp_path: Path) -> None:
    with running_backend(tmp_path / "data", max_json_body_bytes=256 * 1024) as server:
        caller = Caller(server.url)
        head = _head(
            "POST",
            f"/v1/jobs?orgSlug={caller.org}&projectSlug=proj",
            server.url,
            {**CLIENT_HEADER, "Authorization": f"Bearer {caller.token}"},
        )
        status, sent = send_chunked_until_refused(server.url, head, FORTY_MB)
        assert status in (413, None)
        assert sent < FORTY_MB  # the server hung up long before the 40 MB were out
        # A body under the cap still works, and the cap's answer names the setting.
        assert caller.submit("fake/fast").status_code == 201
        big = {
            "name": "run",
            "config": {"model": "fake/fast", "datasetSource": {"type": "huggingface", "name": "x" * 300_000}},
        }
        response = caller.http.post("/v1/jobs", params=caller.scope, json=big)
        assert response.status_code == 413 and "ARKOR_MAX_JSON_BODY_BYTES" in response.json()["error"]


def _rss(pid: int) -> int:
    return psutil.Process(pid).memory_info().rss


def test_forty_megabyte_bodies_do_not_grow_the_server(tmp_path: Path) -> None:
    """The acceptance figure of the finding: a 40 MB body to any route raises RSS by under 100 MB."""
    with ServerProcess(tmp_path / "srv") as server:
        caller = Caller(server.url)
        job = caller.submit("fake/fast").json()["job"]
        authed = {**CLIENT_HEADER, "Authorization": f"Bearer {caller.token}"}
        scope = f"orgSlug={caller.org}&projectSlug=proj"
        routes = [
            ("POST", f"/internal/jobs/{job['id']}/events", {}),
            ("POST", "/internal/jobs/job_unknown/events", {"Authorization": "Bearer x"}),
            ("POST", f"/v1/jobs?{scope}", CLIENT_HEADER),
            ("POST", f"/v1/jobs?{scope}", authed),
            ("POST", f"/v1/inference/chat?{scope}", authed),
            ("POST", f"/v1/endpoints?{scope}", authed),
            ("POST", "/v1/auth/anonymous", CLIENT_HEADER),
            ("POST", "/d/nope/v1/chat/completions", {}),
        ]
        caller.http.get("/healthz")
        before = _rss(server.pid)
        payload = (
            b'{"events": [' + b'{"type":"training.log","step":1},' * (FORTY_MB // 33) + b'{"type":"training.log"}]}'
        )
        for method, path, headers in routes:
            # Chunked (no Content-Length to refuse up front): the server must stop reading at the cap.
            status, sent = send_chunked_until_refused(server.url, _head(method, path, server.url, headers), FORTY_MB)
            assert status in (401, 404, 413, None), (path, status)
            # And a client that sends the whole body regardless.
            try:
                httpx.request(method, server.url + path, content=payload, headers=headers, timeout=60)
            except httpx.TransportError:
                pass  # the server may hang up on a body it refused
        assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200
        grown = _rss(server.pid) - before
        print(
            f"server RSS {before / MiB:.0f} MiB -> {(before + grown) / MiB:.0f} MiB after {2 * len(routes)} 40 MB bodies"
        )
        assert grown < 100 * MiB, f"RSS grew by {grown / MiB:.0f} MiB"


def test_upload_routes_get_the_upload_cap_not_the_json_one(tmp_path: Path) -> None:
    with running_backend(tmp_path / "data", max_json_body_bytes=1024, max_upload_bytes=MiB) as server:
        caller = Caller(server.url)
        rows = b"".join(
            b'{"messages": [{"role": "user", "content": "hi %d"}, {"role": "assistant", "content": "ok"}]}\n' % i
            for i in range(60)
        )
        assert len(rows) > 1024
        upload = caller.http.post(
            "/v1/datasets",
            params=caller.scope,
            content=rows,
            headers={"X-Arkor-Filename": "chat.jsonl", "Content-Type": "application/octet-stream"},
        )
        assert upload.status_code in (200, 201), upload.text
        authed = {**CLIENT_HEADER, "Authorization": f"Bearer {caller.token}"}
        status, _, body = raw_request(
            server.url,
            _head(
                "POST",
                f"/v1/datasets?orgSlug={caller.org}&projectSlug=proj",
                server.url,
                {**authed, "Content-Length": str(2 * MiB)},
            ),
        )
        assert status == 413 and "ARKOR_MAX_UPLOAD_BYTES" in json.loads(body)["error"]

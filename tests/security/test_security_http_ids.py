"""Integers from headers, query strings and paths are validated: a bad one is a 400, never a traceback.

Before: `Last-Event-ID: 1180591620717411303424` (2**70) reset the connection with an OverflowError
from the database driver.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import httpx
import pytest
from security_http_helpers import Caller, isolated_home, running_backend  # noqa: F401 (autouse fixture)

BAD_EVENT_IDS: list[str | bytes] = [
    str(2**70),
    str(2**63),
    "-1",
    "abc",
    "1e3",
    "0x10",
    "1_000",
    "\u0663".encode(),
    "+5",
    "9" * 400,
]


def test_bad_last_event_ids_are_400s(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    with running_backend(tmp_path / "data") as server:
        caller = Caller(server.url)
        job = caller.submit("fake/fast").json()["job"]
        path = f"/v1/jobs/{job['id']}/events/stream"
        for value in BAD_EVENT_IDS:
            response = caller.http.get(path, params=caller.scope, headers={"Last-Event-ID": value})
            assert response.status_code == 400, (value, response.status_code, response.text[:200])
            body = response.json()
            assert "Last-Event-ID" in body["error"] and body["param"] == "Last-Event-ID", body
        # The largest storable id is fine (nothing after it), and so is resuming from a real id.
        with caller.http.stream("GET", path, params=caller.scope, headers={"Last-Event-ID": str(2**63 - 1)}) as ok:
            assert ok.status_code == 200
    assert not [r for r in caplog.records if r.exc_info or "OverflowError" in r.getMessage()]


def test_other_integers_out_of_range_are_400s(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    with running_backend(tmp_path / "data") as server:
        caller = Caller(server.url)
        job = caller.submit("fake/fast").json()["job"]
        checks = [
            ("/v1/jobs", {"limit": str(2**70)}),
            ("/v1/jobs", {"limit": "-5"}),
            (f"/v1/jobs/{job['id']}/export", {"checkpoint": str(2**70)}),
            (f"/v1/jobs/{job['id']}/export", {"checkpoint": "-1"}),
        ]
        for path, params in checks:
            response = caller.http.get(path, params={**caller.scope, **params})
            assert response.status_code == 400, (path, params, response.text[:200])
            assert "error" in response.json()
    assert not [r for r in caplog.records if r.exc_info]


def test_worker_integers_the_database_cannot_store_are_400s(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    with running_backend(tmp_path / "data") as server:
        caller = Caller(server.url)
        job = caller.submit("fake/silent").json()["job"]
        spec = tmp_path / "data" / "specs" / f"{job['id']}.json"
        for _ in range(200):
            if spec.exists():
                break
            time.sleep(0.05)
        token = json.loads(spec.read_text())["report"]["token"]
        worker = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})
        response = worker.post(f"/internal/jobs/{job['id']}/heartbeat", json={"step": 2**70})
        assert response.status_code == 400 and "too large" in response.json()["error"], response.text
        assert worker.post(f"/internal/jobs/{job['id']}/heartbeat", json={"step": 3}).status_code == 200
    assert not [r for r in caplog.records if r.exc_info]

"""The Jobs list's run summaries and the CSV export (pure), and the bound on how much of a job's events Studio reads
(a real loopback server answering with more than the bound)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import csv
import http.server
import io
import json
import threading

import pytest

from arkor.sdk.client import AsyncCloudApiClient
from arkor.sdk.state import ProjectState
from arkor.studio import routes_api
from arkor.studio.backend import Connection
from arkor.studio.run_metrics import events_csv, summarise_events


def run(coroutine):
    """asyncio.run on a fresh thread: a session-wide sync Playwright may own this thread's loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_summary_takes_the_last_logged_value_of_each_metric_and_skips_non_numbers():
    events = [
        {"type": "training.started"},
        {"type": "training.log", "step": 1, "loss": 2.0, "evalLoss": 2.5},
        {"type": "evaluation.completed", "step": 1, "scorer": "exact", "accuracy": 0.25},
        {"type": "training.log", "step": 2, "loss": 1.5},
        {"type": "training.log", "step": 3, "loss": float("nan")},
        {"type": "evaluation.completed", "step": 3, "scorer": "contains", "accuracy": True},
        {"type": "training.log", "step": 4, "loss": "1.0"},
    ]
    assert summarise_events(events) == {
        "finalLoss": 1.5,
        "evalLoss": 2.5,
        "accuracy": 0.25,
        "scorer": "exact",
        "steps": 4,
    }
    assert summarise_events([]) == {
        "finalLoss": None,
        "evalLoss": None,
        "accuracy": None,
        "scorer": None,
        "steps": None,
    }


def test_csv_has_one_row_per_event_with_nested_fields_flattened_and_text_quoted():
    events = [
        {"type": "training.log", "step": 1, "loss": 0.5, "timestamp": "t1"},
        {"type": "evaluation.completed", "step": 1, "fields": {"a": 0.5, "b": 1}, "scorer": 'a,"b"', "timestamp": "t2"},
        {"type": "training.completed", "artifacts": [{"pathname": "final/x"}], "timestamp": "t3"},
    ]
    text = events_csv(events)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0].split(",")[:4] == ["index", "type", "timestamp", "step"]
    assert [r["index"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["loss"] == "0.5" and rows[1]["loss"] == ""
    assert rows[1]["fields.a"] == "0.5" and rows[1]["fields.b"] == "1" and rows[1]["scorer"] == 'a,"b"'
    assert json.loads(rows[2]["artifacts"]) == [{"pathname": "final/x"}]
    assert rows[2]["step"] == ""


class _Huge(http.server.BaseHTTPRequestHandler):
    sent = 0

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        chunk = b" " * 65536
        try:
            self.wfile.write(b'{"job": {}, "events": [')
            for _ in range(4096):  # 256 MiB unless the reader stops early
                self.wfile.write(chunk)
                type(self).sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


def test_a_jobs_events_are_read_up_to_the_bound_then_refused_with_a_clear_message(monkeypatch):
    monkeypatch.setattr(routes_api, "EVENTS_MAX_BYTES", 1024 * 1024)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Huge)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:

        async def read():
            client = AsyncCloudApiClient(f"http://127.0.0.1:{server.server_address[1]}", {"mode": "anon", "token": "t"})
            connection = Connection(client, {}, ProjectState(org_slug="o", project_slug="p", project_id="i"))
            try:
                await routes_api._read_events(connection, "job_1")
            finally:
                await client.aclose()

        with pytest.raises(
            routes_api.EventsTooLargeError,
            match=r"Job `job_1` has over 1 MiB of events; read them with `arkor jobs logs`",
        ):
            run(read())
    finally:
        server.shutdown()
        server.server_close()
    assert _Huge.sent < 64 * 1024 * 1024  # stopped reading long before the 256 MiB answer ended

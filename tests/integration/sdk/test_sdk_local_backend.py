"""ensure_local_backend against a tiny fake server script: start once under a lock, reuse the record."""

from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from arkor.sdk import local_backend

FAKE_SERVER = textwrap.dedent("""
    import json, os, sys
    from http.server import BaseHTTPRequestHandler, HTTPServer
    record = sys.argv[1]
    class H(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/healthz" else 404); self.end_headers(); self.wfile.write(b"ok")
        def log_message(self, *a): pass
    server = HTTPServer(("127.0.0.1", 0), H)
    tmp = record + ".tmp"
    open(tmp, "w").write(json.dumps({"url": "http://127.0.0.1:%d" % server.server_address[1], "pid": os.getpid()}))
    os.replace(tmp, record)
    server.serve_forever()
""")


@pytest.fixture
def fake_command(tmp_path, monkeypatch):
    monkeypatch.setenv("ARKOR_HOME", str(tmp_path / "home"))
    script = tmp_path / "fake_server.py"
    script.write_text(FAKE_SERVER)
    yield [sys.executable, str(script), str(local_backend.record_path())]
    try:
        pid = json.loads(local_backend.record_path().read_text())["pid"]
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError):
        pass


def test_concurrent_callers_start_one_backend(fake_command):
    urls = []
    threads = [
        threading.Thread(
            target=lambda: urls.append(local_backend.ensure_local_backend(command=fake_command, timeout=30))
        )
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(urls)) == 1 and urls[0].startswith("http://127.0.0.1:")
    assert local_backend.read_live_record() == urls[0]
    assert (local_backend.server_dir() / "server.log").exists()


def test_stale_record_is_replaced(fake_command):
    local_backend.server_dir().mkdir(parents=True)
    local_backend.record_path().write_text(json.dumps({"url": "http://127.0.0.1:9", "pid": 999999}))
    assert local_backend.read_live_record() is None
    url = local_backend.ensure_local_backend(command=fake_command, timeout=30)
    assert url != "http://127.0.0.1:9"


def test_backend_that_exits_names_its_log(tmp_path, monkeypatch):
    monkeypatch.setenv("ARKOR_HOME", str(tmp_path / "home"))
    with pytest.raises(local_backend.LocalBackendError, match="exited with code 3 .*server.log"):
        local_backend.ensure_local_backend(command=[sys.executable, "-c", "raise SystemExit(3)"], timeout=30)


def test_default_command_runs_the_arkor_server_module(tmp_path):
    command = local_backend.server_command(Path("/d"), Path("/d/server.json"))
    assert command[1:] == [
        "-m",
        "arkor.server",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--data-dir",
        "/d",
        "--record",
        "/d/server.json",
    ]

"""Shared by the backend benchmarks: start `python -m arkor.server serve` in a subprocess on a free
loopback port with a throwaway data dir, and make an anonymous caller with a project."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

CLIENT = {"X-Arkor-Client": "arkor/0.1.0"}
# A "worker" that just stays alive: the benchmark itself plays the worker over the internal API.
IDLE_WORKER = [sys.executable, "-c", "import time; time.sleep(3600)"]


class Backend:
    def __init__(self, **env: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="arkor-bench-"))
        record = self.dir / "server.json"
        environ = {**os.environ, "ARKOR_WORKER_COMMAND": json.dumps(IDLE_WORKER), "ARKOR_LOG": "WARNING", **env}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "arkor.server",
                "serve",
                "--port",
                "0",
                "--data-dir",
                str(self.dir / "data"),
                "--record",
                str(record),
            ],
            env=environ,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not record.exists():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("backend did not start")
            time.sleep(0.05)
        self.url = json.loads(record.read_text())["url"]
        http = httpx.Client(base_url=self.url, headers=CLIENT)
        anon = http.post("/v1/auth/anonymous", json={"kind": "cli"}).json()
        self.token, self.org = anon["token"], anon["personalOrg"]["slug"]
        self.headers = {**CLIENT, "Authorization": f"Bearer {self.token}"}
        http.post(
            "/v1/projects", params={"orgSlug": self.org}, json={"name": "bench", "slug": "bench"}, headers=self.headers
        )
        self.scope = {"orgSlug": self.org, "projectSlug": "bench"}

    def job_body(self, i: int = 0) -> dict:
        return {
            "name": f"bench-{i}",
            "config": {"model": "arkor/tiny-test", "datasetSource": {"type": "huggingface", "name": "x"}},
        }

    def worker_token(self, job_id: str, timeout: float = 30) -> str:
        spec = self.dir / "data" / "specs" / f"{job_id}.json"
        deadline = time.monotonic() + timeout
        while not spec.exists():
            if time.monotonic() > deadline:
                raise RuntimeError("job was not dispatched")
            time.sleep(0.02)
        return json.loads(spec.read_text())["report"]["token"]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)

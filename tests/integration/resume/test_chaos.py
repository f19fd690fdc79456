"""Chaos: a real backend process training the tiny model with the real worker; its worker is SIGKILLed at
three random (seeded) steps and the backend itself is SIGKILLed and restarted once. The job completes;
a client that stayed connected through the reconnects saw every step exactly once; the final adapter
and the loss curve equal an uninterrupted run with the same seed.

The numbers (faults, steps replayed, time lost per fault) are printed and written to
`$ARKOR_CHAOS_REPORT` when that is set.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from server_helpers import Api

from arkor.engine.reporting import FolderReporter
from arkor.engine.train.run import run_training
from arkor.protocol import JobConfig
from arkor.protocol.sse import SSEDecoder

TINY = "arkor/tiny-test"
SEED = 20261201
STEPS = 16
ATOL = 1e-6  # see tests/integration/engine/test_resume_state.py: CPU fp32 replays the same ops in the same order


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _dataset(path: Path) -> Path:
    colours = ["red", "blue", "green", "amber"]
    with path.open("w") as handle:
        for i in range(16):
            handle.write(
                json.dumps(
                    {
                        "messages": [
                            {"role": "user", "content": f"Colour of item {i}?"},
                            {"role": "assistant", "content": colours[i % 4]},
                        ]
                    }
                )
                + "\n"
            )
    return path


class Backend:
    """`python -m arkor.server serve` on a fixed port, so a client reconnects to the same address."""

    def __init__(self, tmp_path: Path, port: int) -> None:
        self.tmp_path, self.port = tmp_path, port
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.env = {
            **os.environ,
            "ARKOR_HOME": str(tmp_path / "home"),
            "ARKOR_HEARTBEAT_TIMEOUT_S": "120",
            "ARKOR_WATCHDOG_INTERVAL_S": "0.2",
            "ARKOR_SSE_PING_INTERVAL_S": "1",
            "ARKOR_CANCEL_GRACE_S": "5",
            "ARKOR_FILE_DATASET_ROOTS": str(tmp_path),
        }
        self.env.pop("ARKOR_WORKER_COMMAND", None)

    def start(self) -> None:
        record = self.tmp_path / f"server-{time.monotonic_ns()}.json"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "arkor.server",
                "serve",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.tmp_path / "data"),
                "--record",
                str(record),
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.tmp_path / "server.log", "ab"),
        )
        deadline = time.monotonic() + 60
        while not record.exists():
            assert self.process.poll() is None, (self.tmp_path / "server.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "backend did not start"
            time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()


@dataclass
class Follower:
    """One client following the job's stream through disconnects with Last-Event-ID (what the SDK does)."""

    url: str
    headers: dict
    params: dict
    job_id: str
    events: list[tuple[float, int, dict]] = field(default_factory=list)
    reconnects: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None

    def run(self) -> None:
        last: str | None = None
        try:
            with httpx.Client(timeout=httpx.Timeout(30, read=60)) as http:
                while not self.done.is_set():
                    headers = {
                        **self.headers,
                        "Accept": "text/event-stream",
                        **({"Last-Event-ID": last} if last else {}),
                    }
                    try:
                        with http.stream(
                            "GET",
                            f"{self.url}/v1/jobs/{self.job_id}/events/stream",
                            params=self.params,
                            headers=headers,
                        ) as response:
                            response.raise_for_status()
                            decoder = SSEDecoder()
                            for text in response.iter_text():
                                for frame in decoder.feed(text):
                                    if frame.event == "end":
                                        self.done.set()
                                        return
                                    if frame.event == "ping" or frame.id is None:
                                        continue
                                    last = frame.id
                                    self.events.append((time.monotonic(), int(frame.id), frame.json()))
                    except (httpx.HTTPError, OSError):
                        pass
                    self.reconnects += 1
                    time.sleep(0.2)
        except BaseException as exc:  # surfaced by the test
            self.error = exc
            self.done.set()

    def logged_steps(self) -> list[int]:
        return [e["step"] for _, _, e in self.events if e["type"] == "training.log"]


def _worker_pid(job_id: str) -> int | None:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "arkor.engine.worker" in cmdline and job_id in cmdline:
            return int(entry.name)
    return None


def test_chaos_worker_kills_and_a_backend_kill_end_with_the_uninterrupted_adapter(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path / "colours.jsonl")
    config = {
        "model": TINY,
        "datasetSource": {"type": "file", "path": str(dataset)},
        "maxSteps": STEPS,
        "batchSize": 4,
        "learningRate": 3e-2,
        "loraR": 4,
        "loraDropout": 0.1,
        "loggingSteps": 1,
        "saveSteps": 2,
        "seed": 7,
        "maxRestarts": 5,
    }
    rng = random.Random(SEED)
    fault_steps = sorted(rng.sample(range(2, STEPS - 1), 4))
    backend_fault = rng.randrange(4)
    plan = [("backend" if i == backend_fault else "worker", step) for i, step in enumerate(fault_steps)]

    backend = Backend(tmp_path, _free_port())
    backend.start()
    try:
        api = Api(backend.url)
        job = api.submit(TINY, **{k: v for k, v in config.items() if k != "model"})
        follower = Follower(backend.url, dict(api.http.headers), dict(api.scope), job["id"])
        thread = threading.Thread(target=follower.run, daemon=True)
        thread.start()

        injected: list[dict] = []
        for kind, step in plan:
            while not follower.done.is_set() and not any(s >= step for s in follower.logged_steps()):
                time.sleep(0.01)
            assert not follower.done.is_set(), f"the job ended before the fault at step {step}: {follower.events[-1]}"
            seen = max(follower.logged_steps())
            if kind == "worker":
                pid = _worker_pid(job["id"])
                assert pid, "no worker process found"
                os.kill(pid, signal.SIGKILL)
            else:
                backend.kill()
                backend.start()
            injected.append({"kind": kind, "at_step": seen, "at": time.monotonic()})

        assert follower.done.wait(240), "the job did not finish"
        assert follower.error is None, follower.error
        final = api.job(job["id"])
    finally:
        backend.stop()

    assert final["status"] == "completed", final
    events = [e for _, _, e in follower.events]
    ids = [seq for _, seq, _ in follower.events]
    assert ids == list(range(1, len(ids) + 1)), "the client missed or repeated an event"
    assert follower.logged_steps() == list(range(1, STEPS + 1)), follower.logged_steps()
    kinds = [e["type"] for e in events]
    assert kinds.count("training.started") == 1 and kinds[-1] == "training.completed"
    resumed = [e for e in events if e["type"] == "training.resumed"]
    assert len(resumed) == len(plan), resumed
    assert [e["restarts"] for e in resumed] == list(range(1, len(plan) + 1))
    assert sum("backend restarted" in e["reason"] for e in resumed) == 1
    assert sum("signal 9 (SIGKILL)" in e["reason"] for e in resumed) == 3

    # The same adapter and loss curve as an uninterrupted run with the same seed.
    straight_dir = tmp_path / "straight"
    straight = FolderReporter("job_straight", straight_dir)
    assert (
        run_training("job_straight", JobConfig.model_validate(config), straight_dir, straight, device="cpu")
        == "completed"
    )
    expected = {e["step"]: e["loss"] for e in straight.events if e["type"] == "training.log"}
    got = {e["step"]: e["loss"] for e in events if e["type"] == "training.log"}
    assert all(abs(got[s] - expected[s]) <= ATOL for s in expected), (got, expected)
    from safetensors.torch import load_file

    a = load_file(str(straight_dir / "final" / "adapter_model.safetensors"))
    b = load_file(str(tmp_path / "data" / "artifacts" / job["id"] / "final" / "adapter_model.safetensors"))
    worst = max(float((a[k] - b[k]).abs().max()) for k in a)
    assert a.keys() == b.keys() and worst <= ATOL, worst

    # Numbers: per fault, the steps trained again and the wall time from the fault to the next new step.
    received = {e["step"]: at for at, _, e in follower.events if e["type"] == "training.log"}
    report = []
    for fault, event in zip(injected, resumed):
        next_new = min((s for s in received if s > fault["at_step"]), default=None)
        report.append(
            {
                "kind": fault["kind"],
                "atStep": fault["at_step"],
                "resumedFromStep": event["step"],
                "stepsReplayed": fault["at_step"] - event["step"],
                "secondsLost": round(received[next_new] - fault["at"], 2) if next_new else None,
            }
        )
    summary = {"faults": len(report), "maxAbsWeightDiff": worst, "reconnects": follower.reconnects, "perFault": report}
    print("chaos:", json.dumps(summary))
    if os.environ.get("ARKOR_CHAOS_REPORT"):
        Path(os.environ["ARKOR_CHAOS_REPORT"]).write_text(json.dumps(summary, indent=2))

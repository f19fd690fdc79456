"""A scripted stand-in for `python -m arkor.engine.worker`, for testing the backend's mechanics fast.

It speaks the real worker's protocol (WorkerSpec in; events with `firstIndex`, heartbeats and artifact
PUTs out; exit 143 without a terminal event on SIGTERM). The behaviour comes from the job's model id:
  fake/fast      4-ish quick steps (maxSteps, saveSteps from the config), then training.completed
  fake/slow      0.4 s per step
  fake/fail      reports training.failed after the first step
  fake/exit1     exits with code 1 after training.started (no terminal event)
  fake/silent    sends no heartbeats and never finishes (the watchdog must fail it)
  fake/stubborn  like slow but ignores SIGTERM (the executor must SIGKILL it)
  fake/metrics   like fast, its training.log events also carry a decaying learningRate and tokensPerSecond
  fake/eval      like metrics, plus an evaluation.completed event (scorer "exact", fields a and b) per save
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

stop = threading.Event()


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spec", required=True)
    spec = json.loads(Path(parser.parse_args().spec).read_text())
    config = spec["config"]
    mode = config["model"].split("/", 1)[1]
    job_id = spec["jobId"]
    out = Path(spec["outputDir"])
    out.mkdir(parents=True, exist_ok=True)
    base = spec["report"]["url"].rstrip("/") + f"/internal/jobs/{job_id}"
    client = httpx.Client(headers={"Authorization": f"Bearer {spec['report']['token']}"}, timeout=10)
    emitted = spec.get("eventBase", 0)  # a resumed job already has events

    if mode != "stubborn":
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    else:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def emit(event: dict) -> None:
        nonlocal emitted
        event = {**event, "jobId": job_id, "timestamp": now()}
        response = client.post(base + "/events", json={"events": [event], "firstIndex": emitted})
        response.raise_for_status()
        emitted += 1

    def upload(folder: str, step: int) -> list[dict]:
        artifacts = []
        for name, content in (
            ("adapter_config.json", json.dumps({"step": step}).encode()),
            ("adapter_model.safetensors", os.urandom(64)),
        ):
            pathname = f"{folder}/{name}"
            (out / pathname).parent.mkdir(parents=True, exist_ok=True)
            (out / pathname).write_bytes(content)
            client.put(base + f"/artifacts/{pathname}", content=content).raise_for_status()
            artifacts.append({"pathname": pathname, "size": len(content)})
        return artifacts

    def beat() -> None:
        while True:
            try:
                client.post(base + "/heartbeat", json={"step": None, "pid": os.getpid()})
            except httpx.HTTPError:
                pass
            time.sleep(0.2)

    if mode != "silent":
        threading.Thread(target=beat, daemon=True).start()
    emit({"type": "training.started", "metadata": {"device": "cpu", "model": config["model"]}})
    if mode == "exit1":
        print("fake worker: simulated crash", flush=True)
        return 1
    if mode == "silent":
        time.sleep(3600)
    delay = {"fast": 0.02, "slow": 0.4, "stubborn": 0.4}.get(mode, 0.02)
    max_steps = config.get("maxSteps") or 4
    save_steps = config.get("saveSteps") or 2
    for step in range(1, max_steps + 1):
        time.sleep(delay)
        if stop.is_set():
            return 143
        if mode in ("metrics", "eval"):
            emit(
                {
                    "type": "training.log",
                    "step": step,
                    "loss": 2.0 / step,
                    "learningRate": 1e-3 / step,
                    "tokensPerSecond": 1000.0 + 10 * step,
                }
            )
        else:
            emit({"type": "training.log", "step": step, "loss": 2.0 / step, "learningRate": 1e-4})
        if mode == "fail":
            emit({"type": "training.failed", "error": "simulated failure", "step": step})
            return 0
        if mode == "eval" and step % save_steps == 0:
            emit(
                {
                    "type": "evaluation.completed",
                    "step": step,
                    "scorer": "exact",
                    "accuracy": step / (step + 2),
                    "fields": {"a": step / (step + 1), "b": 1 / step},
                    "rows": 8,
                }
            )
        if step % save_steps == 0:
            emit({"type": "checkpoint.saved", "step": step, "artifacts": upload(f"checkpoints/step-{step}", step)})
    emit({"type": "training.completed", "metrics": {"trainLoss": 0.5}, "artifacts": upload("final", max_steps)})
    return 0


if __name__ == "__main__":
    sys.exit(main())

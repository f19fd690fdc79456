"""Event fan-out: N SSE subscribers on one job; delivery latency (worker POST -> subscriber receives)
p50/p99 and the backend's CPU while it fans out.

    .venv/bin/python benchmarks/events_fanout.py [--subscribers 10 100 1000] [--events 40] [--rate 10]

The backend runs in its own process (`python -m arkor.server serve`); this script plays the worker
(posting events to the internal API with a send timestamp) and all subscribers (asyncio + httpx), so
client-side parsing is included in the latency. Same machine, same clock.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import httpx
import psutil
from _backend import Backend


async def subscriber(
    client: httpx.AsyncClient,
    backend: Backend,
    job_id: str,
    latencies: list[float],
    ready: asyncio.Event,
    counter: list[int],
    total: int,
) -> None:
    async with client.stream(
        "GET", f"/v1/jobs/{job_id}/events/stream", params=backend.scope, headers={"Accept": "text/event-stream"}
    ) as response:
        counter[0] += 1
        if counter[0] == total:
            ready.set()
        async for line in response.aiter_lines():
            if line.startswith("data: {") and '"sentAt"' in line:
                latencies.append(time.time() - json.loads(line[6:])["sentAt"])
            elif line == "event: end":
                return


async def run(backend: Backend, n: int, events: int, rate: float) -> dict:
    http = httpx.Client(base_url=backend.url, headers=backend.headers)
    job = http.post("/v1/jobs", params=backend.scope, json=backend.job_body()).json()["job"]
    token = backend.worker_token(job["id"])
    latencies: list[float] = []
    ready, counter = asyncio.Event(), [0]
    limits = httpx.Limits(max_connections=n + 10, max_keepalive_connections=n + 10)
    async with httpx.AsyncClient(base_url=backend.url, headers=backend.headers, limits=limits, timeout=None) as client:
        tasks = [
            asyncio.create_task(subscriber(client, backend, job["id"], latencies, ready, counter, n)) for _ in range(n)
        ]
        await asyncio.wait_for(ready.wait(), 120)
        await asyncio.sleep(0.5)
        process = psutil.Process(backend.process.pid)
        cpu0, wall0 = process.cpu_times(), time.monotonic()
        worker = httpx.AsyncClient(base_url=backend.url, headers={"Authorization": f"Bearer {token}"})
        for step in range(1, events + 1):
            event = {"type": "training.log", "step": step, "loss": 1.0, "sentAt": time.time()}
            await worker.post(f"/internal/jobs/{job['id']}/events", json={"events": [event]})
            await asyncio.sleep(1 / rate)
        await worker.post(f"/internal/jobs/{job['id']}/events", json={"events": [{"type": "training.completed"}]})
        await asyncio.wait_for(asyncio.gather(*tasks), 300)
        cpu1, wall1 = process.cpu_times(), time.monotonic()
        await worker.aclose()
    lat = sorted(latencies)
    return {
        "subscribers": n,
        "deliveries": len(lat),
        "expected": n * events,
        "p50_ms": round(1000 * statistics.median(lat), 2),
        "p99_ms": round(1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))], 2),
        "server_cpu_percent": round(100 * ((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)) / (wall1 - wall0), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--events", type=int, default=40)
    parser.add_argument("--rate", type=float, default=10.0, help="events per second the 'worker' posts")
    args = parser.parse_args()
    for n in args.subscribers:
        # A fresh backend per size: one job slot, one job.
        backend = Backend()
        try:
            print(json.dumps(asyncio.run(run(backend, n, args.events, args.rate))), flush=True)
        finally:
            backend.stop()


if __name__ == "__main__":
    main()

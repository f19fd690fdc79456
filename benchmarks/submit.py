"""Job submissions per second against `python -m arkor.server serve` (SQLite WAL, one job slot).

    .venv/bin/python benchmarks/submit.py [--jobs 300] [--concurrency 1 8]

Each submission is a full `POST /v1/jobs` (auth, scope, config validation, insert, 201 with the job).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from _backend import Backend


def run(backend: Backend, jobs: int, concurrency: int) -> dict:
    latencies: list[float] = []

    def submit(chunk: range) -> None:
        with httpx.Client(base_url=backend.url, headers=backend.headers) as http:
            for i in chunk:
                start = time.perf_counter()
                response = http.post("/v1/jobs", params=backend.scope, json=backend.job_body(i))
                latencies.append(time.perf_counter() - start)
                assert response.status_code == 201, response.text

    per = jobs // concurrency
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(submit, [range(k * per, (k + 1) * per) for k in range(concurrency)]))
    elapsed = time.perf_counter() - started
    lat = sorted(latencies)
    return {
        "concurrency": concurrency,
        "jobs": len(lat),
        "jobs_per_s": round(len(lat) / elapsed, 1),
        "p50_ms": round(1000 * statistics.median(lat), 2),
        "p99_ms": round(1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    for concurrency in args.concurrency:
        backend = Backend()
        try:
            print(json.dumps(run(backend, args.jobs, concurrency)), flush=True)
        finally:
            backend.stop()


if __name__ == "__main__":
    main()

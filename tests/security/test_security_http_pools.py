"""Slow calls (inference, export, dataset validation) run in bounded pools of their own, so they
cannot take every worker thread of the server."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import anyio
import httpx
from security_http_helpers import isolated_home, running_backend  # noqa: F401 (autouse fixture)

from arkor.server.limits import BlockingPools


def test_a_pool_runs_at_most_its_size_at_once() -> None:
    pools = BlockingPools(2)
    running, peak, lock = 0, 0, threading.Lock()
    release = threading.Event()

    def slow() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        release.wait(10)
        with lock:
            running -= 1

    async def main() -> None:
        async with anyio.create_task_group() as group:
            for _ in range(6):
                group.start_soon(pools.run, "inference", slow)
            while running < 2:
                await anyio.sleep(0.01)
            await anyio.sleep(0.2)  # give a third call every chance to (wrongly) start
            assert running == 2
            # The default thread pool is untouched: ordinary to_thread calls still run.
            assert await anyio.to_thread.run_sync(lambda: "free") == "free"
            release.set()

    anyio.run(main)
    assert peak == 2


def test_the_api_answers_while_the_inference_pool_is_full(tmp_path: Path) -> None:
    with running_backend(tmp_path / "data", max_blocking_calls=1) as server:
        services = server.app.state.services
        busy = threading.Event()
        release = threading.Event()

        def occupy() -> None:
            busy.set()
            release.wait(30)

        # Fill every pool from the server's own loop, as long inference/export/validation calls would.
        loop = services.broadcaster._loop
        # More slow calls than the default thread pool has threads (40): unbounded, they would take them all.
        kinds = ["inference"] * 45 + ["export"] * 5 + ["validation"] * 5
        futures = [asyncio.run_coroutine_threadsafe(services.pools.run(kind, occupy), loop) for kind in kinds]
        assert busy.wait(10)
        try:
            for _ in range(10):  # /healthz runs on the default pool, which the slow calls left free
                assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200
        finally:
            release.set()
            for future in futures:
                future.result(30)

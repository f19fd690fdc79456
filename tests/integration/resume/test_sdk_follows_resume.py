"""The SDK's `wait()` follows a job across an automatic resume without the user doing anything: its
worker is SIGKILLed mid-run, the job goes on, callbacks see `started` once and every step once."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from arkor import create_trainer
from arkor.sdk.trainer import TrainerContext
from arkor.server.models import JobRow


@pytest.fixture
def server(make_backend, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    running = make_backend(worker_command=[sys.executable, str(Path(__file__).with_name("slow_fake_worker.py"))])
    monkeypatch.setenv("ARKOR_CLOUD_API_URL", running.url)
    return running


def _running_pid(server) -> int:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with server.app.state.services.db.read() as session:
            pids = [job.pid for job in session.query(JobRow).filter(JobRow.status == "running") if job.pid]
        if pids:
            return pids[0]
        time.sleep(0.05)
    raise AssertionError("no running worker")


def test_wait_follows_a_job_through_a_killed_worker(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project = tmp_path / "proj"
    (project / "data").mkdir(parents=True)
    (project / "data" / "rows.jsonl").write_text(
        "\n".join(
            json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]})
            for _ in range(4)
        )
    )
    seen: list[tuple] = []
    killed: list[int] = []

    def on_log(ctx) -> None:  # type: ignore[no-untyped-def]
        seen.append(("log", ctx.step))
        if ctx.step == 3 and not killed:
            killed.append(_running_pid(server))
            os.kill(killed[0], signal.SIGKILL)

    trainer = create_trainer(
        name="follow",
        model="arkor/tiny-test",
        dataset={"type": "file", "path": "data/rows.jsonl"},
        max_steps=7,
        save_steps=2,
        logging_steps=1,
        on_started=lambda ctx: seen.append(("started",)),
        on_log=on_log,
        on_completed=lambda ctx: seen.append(("completed",)),
        on_failed=lambda ctx: seen.append(("failed", ctx.error)),
        context=TrainerContext(cwd=project),
    )
    result = trainer.wait()
    assert killed, "the worker was never killed"
    assert result.job.status == "completed", seen
    assert seen[0] == ("started",) and seen[-1] == ("completed",)
    assert [entry[1] for entry in seen if entry[0] == "log"] == list(range(1, 8))
    assert ("failed",) not in [entry[:1] for entry in seen]

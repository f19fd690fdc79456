"""Adding an event type is one registration in `arkor.protocol`: with nothing else edited, a new type
goes from a worker (the engine's `BackendReporter`) through the backend's ingest route and its event
store to the SSE stream, into the SDK's `on_event` callback as its typed model, and into Studio's
event log in a real browser.

Run as a script, this file is the backend's worker: it registers the same type and reports it.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Literal

from pydantic import Field

from arkor.protocol import JobEventBase, register_event_type

EVENT_NAME = "dataset.profiled"


class DatasetProfiled(JobEventBase):
    """The test's new event type: a worker says how big its dataset turned out to be."""

    type: Literal["dataset.profiled"] = "dataset.profiled"
    rows: int = Field(ge=0)
    tokens: int = Field(ge=0)


def register() -> type[DatasetProfiled]:
    """The one place the new type is made known (called by the test and by this file as a worker)."""
    return register_event_type(DatasetProfiled)


def worker_main() -> int:
    from arkor.engine.reporting import make_reporter
    from arkor.protocol import TrainingCompleted, TrainingStarted, WorkerSpec

    parser = argparse.ArgumentParser()
    parser.add_argument("--spec", required=True)
    spec = WorkerSpec.model_validate(json.loads(Path(parser.parse_args().spec).read_text()))
    register()
    reporter = make_reporter(spec.job_id, Path(spec.output_dir), spec.report, event_base=spec.event_base)
    try:
        reporter.emit(TrainingStarted())
        reporter.emit(DatasetProfiled(rows=24, tokens=512))
        reporter.emit(TrainingCompleted(metrics={"steps": 0}))
    finally:
        reporter.close()
    return 0


if __name__ == "__main__":
    sys.exit(worker_main())


import pytest  # noqa: E402 - below the worker entry: run as a script, this file must not need pytest


@pytest.fixture
def registered():  # type: ignore[no-untyped-def]
    from arkor.protocol import unregister_event_type

    register()
    yield DatasetProfiled
    unregister_event_type(EVENT_NAME)


@pytest.fixture
def backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registered):  # type: ignore[no-untyped-def]
    from arkor.server.runner import BackgroundServer
    from arkor.server.settings import ServerSettings

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ARKOR_HOME", str(tmp_path / "home" / ".arkor"))
    running = BackgroundServer(
        ServerSettings(
            data_dir=tmp_path / "data",
            worker_command=[sys.executable, str(Path(__file__).resolve())],
            heartbeat_timeout_s=60,
            cancel_grace_s=3,
            watchdog_interval_s=0.2,
        )
    ).start()
    monkeypatch.setenv("ARKOR_CLOUD_API_URL", running.url)
    yield running
    running.stop()


class _Studio:
    """Studio's app in this process (so it sees the type registered here), on a free loopback port."""

    def __init__(self, project: Path) -> None:
        import uvicorn

        from arkor.studio.app import create_studio_app
        from arkor.studio.security import new_token

        self.token = new_token()
        app = create_studio_app(token=self.token, project_dir=project)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> _Studio:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("Studio did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()


def test_a_registered_event_type_flows_from_worker_to_studio_log(backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import httpx

    from arkor import create_trainer, read_credentials, read_state
    from arkor.protocol import GenericEvent
    from arkor.protocol.sse import SSEDecoder
    from arkor.sdk.trainer import TrainerContext

    project = tmp_path / "project"
    project.mkdir()
    seen = []
    trainer = create_trainer(
        name="extension",
        model="arkor/tiny-test",
        dataset={"type": "huggingface", "name": "x"},
        max_steps=1,
        on_event=lambda ctx: seen.append(ctx),
        context=TrainerContext(cwd=project),
    )
    result = trainer.wait()
    assert result.job.status == "completed", [ctx.event for ctx in seen]
    job_id = result.job.id

    # The SDK callback got the typed model (not a GenericEvent), with the job snapshot.
    profiled = [ctx for ctx in seen if ctx.event.type == EVENT_NAME]
    assert len(profiled) == 1 and isinstance(profiled[0].event, DatasetProfiled), seen
    assert (profiled[0].event.rows, profiled[0].event.tokens) == (24, 512)
    assert profiled[0].job.id == job_id and profiled[0].job.status == "running"
    assert [ctx.event.type for ctx in seen] == [
        "training.started",
        EVENT_NAME,
        "training.completed",
    ]

    # The store holds it as its model.
    stored = backend.app.state.services.log.read_after(job_id, 0)
    assert [event.type for event in stored] == [
        "training.started",
        EVENT_NAME,
        "training.completed",
    ]
    assert isinstance(stored[1].event, DatasetProfiled) and stored[1].event.job_id == job_id

    # The SSE stream carries it as its own frame, in the wire shape.
    state = read_state(project)
    headers = {
        "Authorization": f"Bearer {read_credentials()['token']}",
        "X-Arkor-Client": "arkor/0.1.0",
        "Accept": "text/event-stream",
    }
    frames = []
    with httpx.stream(
        "GET",
        f"{backend.url}/v1/jobs/{job_id}/events/stream",
        headers=headers,
        timeout=30,
        params={"orgSlug": state.org_slug, "projectSlug": state.project_slug},
    ) as response:
        assert response.status_code == 200, response.read()
        decoder = SSEDecoder()
        for chunk in response.iter_text():
            frames += [frame for frame in decoder.feed(chunk) if frame.event != "ping"]
            if frames and frames[-1].event == "end":
                break
    frame = next(frame for frame in frames if frame.event == EVENT_NAME)
    assert frame.json() == {
        "type": EVENT_NAME,
        "rows": 24,
        "tokens": 512,
        "jobId": job_id,
        "timestamp": stored[1].event.timestamp,
    }

    # A process that never registered the type still reads it, as a GenericEvent with its fields.
    from arkor.protocol import parse_event, unregister_event_type

    unregister_event_type(EVENT_NAME)
    try:
        generic = parse_event(frame.json(), lenient=True)
        assert isinstance(generic, GenericEvent) and generic.rows == 24  # type: ignore[attr-defined]
    finally:
        register()

    # Studio's event log shows it, in a real browser.
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e" / "studio"))
    from studio_helpers import CHROMIUM, CHROMIUM_ARGS

    with _Studio(project) as studio, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"http://127.0.0.1:{studio.port}/?token={studio.token}")
            page.goto(f"http://127.0.0.1:{studio.port}/#/jobs/{job_id}")
            line = page.locator(f'#event-log .log-line[data-kind="{EVENT_NAME}"]')
            line.wait_for(timeout=30_000)
            assert f"[{EVENT_NAME}] rows=24 tokens=512" in line.inner_text()
            page.locator('#event-log .log-line[data-kind="completed"]').wait_for(timeout=30_000)
            assert page.locator("#job-status").inner_text().strip().lower() == "completed"
            assert not errors, errors
        finally:
            browser.close()

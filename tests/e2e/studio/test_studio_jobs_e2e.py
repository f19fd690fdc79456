"""Studio's job views in a real Chromium against `arkor dev` on a real backend whose jobs run the scripted
fake worker (tests/integration/server/fake_worker.py): events, failures, statistics, downloads, model
pickers, the Overview console surviving navigation, and the Playground's in-band stream errors.

The browser runs in UTC so an event's HH:MM:SS can be compared with its ISO timestamp.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
import uuid

import httpx
import numpy
import pytest
from studio_helpers import screenshot, write_trainer

CLIENT = {"X-Arkor-Client": "arkor/e2e"}


class FakeProject:
    """The Studio's identity and project on the fake backend, written where `arkor dev` reads them."""

    def __init__(self, studio, backend_url: str) -> None:  # type: ignore[no-untyped-def]
        from arkor.sdk.client import client_header_value
        from arkor.sdk.state import write_state

        self.http = httpx.Client(base_url=backend_url, headers={"X-Arkor-Client": client_header_value()}, timeout=30)
        anon = self.http.post("/v1/auth/anonymous", json={"kind": "cli"}).raise_for_status().json()
        self.org = anon["personalOrg"]["slug"]
        self.http.headers["Authorization"] = f"Bearer {anon['token']}"
        credentials = {
            "mode": "anon",
            "token": anon["token"],
            "anonymousId": anon.get("anonymousId", ""),
            "orgSlug": self.org,
            "arkorCloudApiUrl": backend_url,
        }
        studio.arkor_home.mkdir(parents=True, exist_ok=True)
        (studio.arkor_home / "credentials.json").write_text(json.dumps(credentials))
        slug = f"p-{uuid.uuid4().hex[:10]}"
        project = (
            self.http.post("/v1/projects", params={"orgSlug": self.org}, json={"name": slug, "slug": slug})
            .raise_for_status()
            .json()["project"]
        )
        self.scope = {"orgSlug": self.org, "projectSlug": project["slug"]}
        write_state(
            {"orgSlug": self.org, "projectSlug": project["slug"], "projectId": project["id"]}, cwd=studio.project
        )

    def submit(self, mode: str, name: str | None = None, **config) -> str:  # type: ignore[no-untyped-def]
        body = {
            "name": name or f"fake-{mode}",
            "config": {
                "model": f"fake/{mode}",
                "datasetSource": {"type": "huggingface", "name": "x/y"},
                "maxSteps": 6,
                "saveSteps": 2,
                **config,
            },
        }
        return self.http.post("/v1/jobs", params=self.scope, json=body).raise_for_status().json()["job"]["id"]

    def wait_ended(self, job_id: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = (
                self.http.get(f"/v1/jobs/{job_id}", params={**self.scope, "events": "true"}).raise_for_status().json()
            )
            if response["job"]["status"] in ("completed", "failed", "cancelled"):
                return response
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} did not end within {timeout:g} s")


@pytest.fixture(scope="module")
def project(studio_on_fake_backend, fake_backend) -> FakeProject:
    return FakeProject(studio_on_fake_backend, fake_backend.url)


@pytest.fixture
def ui(open_page, studio_on_fake_backend):  # type: ignore[no-untyped-def]
    page = open_page(studio_on_fake_backend, timezone_id="UTC", permissions=["clipboard-read", "clipboard-write"])
    page.base = studio_on_fake_backend.base
    return page


def protocol_has_evaluation_events() -> bool:
    from pydantic import ValidationError

    from arkor.protocol import parse_event

    try:
        parse_event(
            {"type": "evaluation.completed", "step": 1, "scorer": "exact", "accuracy": 0.5, "fields": {}, "rows": 1}
        )
    except ValidationError:
        return False
    return True


def js_fmt(value: float) -> str:
    """chart.js's `fmt` (what the statistics table shows)."""
    a = abs(value)
    if a != 0 and a < 0.01:
        mantissa, exponent = f"{value:.1e}".split("e")
        return f"{mantissa}e{'-' if exponent[0] == '-' else '+'}{int(exponent[1:])}"
    return f"{value:.0f}" if a >= 100 else f"{value:.1f}" if a >= 10 else f"{value:.3f}"


def test_event_log_shows_each_events_own_time_and_lr_and_throughput_charts(ui, project):
    job_id = project.submit("metrics", name="metrics-run")
    events = project.wait_ended(job_id)["events"]
    ui.goto(ui.base + f"/#/jobs/{job_id}")
    ui.locator('#job-status [data-status="completed"]').wait_for(timeout=60_000)
    ui.locator('#event-log .log-line[data-kind="completed"]').wait_for(timeout=60_000)
    lines = ui.locator("#event-log .log-line[title]:not([title=''])")
    shown = [(lines.nth(i).get_attribute("title"), lines.nth(i).text_content()) for i in range(lines.count())]
    stamped = [event["timestamp"] for event in events]
    assert [title for title, _ in shown] == stamped
    for title, text in shown:
        assert text.startswith(title[11:19] + " "), (title, text)  # HH:MM:SS of the event, in the page's UTC
    assert ui.locator("#lr-chart .chart-svg circle.point").count() == 6
    assert ui.locator("#tps-chart .chart-svg circle.point").count() == 6
    assert "lr=1.67e-4" in ui.locator("#event-log").text_content()  # 1e-3 / 6
    ui.locator("#tps-chart .chart-svg rect").hover()
    ui.locator("#tps-chart .chart-tooltip").filter(has_text="tokens/s").wait_for()
    assert ui.console_watcher.errors == []


@pytest.mark.parametrize("mode", ["fail", "exit1"])
def test_a_failed_job_says_what_ended_it(ui, project, mode):
    job_id = project.submit(mode, name=f"broken-{mode}")
    ended = project.wait_ended(job_id)
    assert ended["job"]["status"] == "failed" and ended["job"]["error"]
    ui.goto(ui.base + f"/#/jobs/{job_id}")
    banner = ui.locator("#job-error")
    banner.wait_for(timeout=60_000)
    ui.locator('#job-status [data-status="failed"]').wait_for()
    assert banner.text_content() == f"Job failed: {ended['job']['error']}"
    ui.locator("#artifacts").filter(has_text="No artifacts: the job failed before saving any.").wait_for(timeout=30_000)
    if mode == "exit1":  # failed before its first step: no chart will ever come
        ui.locator("#loss-chart").filter(
            has_text="No training.log events: the job failed before logging a step."
        ).wait_for()
    body = ui.locator("body").text_content()
    assert "Waiting for training.log events" not in body and "No artifacts yet." not in body
    if mode == "fail":
        screenshot(ui, "job-failed")
    assert ui.console_watcher.errors == []


def test_advanced_statistics_and_copying_the_job_id(ui, project):
    job_id = project.submit("metrics", name="stats-run", maxSteps=8, maxTime="5m")
    project.wait_ended(job_id)
    ui.goto(ui.base + f"/#/jobs/{job_id}")
    ui.locator('#job-status [data-status="completed"]').wait_for(timeout=60_000)
    meta = dict(zip(ui.locator("#job-meta dt").all_text_contents(), ui.locator("#job-meta dd").all_text_contents()))
    assert meta["Time budget"] == "5m" and meta["Max steps"] == "8" and meta["torch.compile"] == "off"
    ui.locator("#loss-chart .chart-svg circle.point").nth(7).wait_for(timeout=60_000)
    assert ui.locator("#advanced-stats").is_hidden()
    ui.click("#toggle-advanced")
    row = ui.locator('#advanced-stats tr[data-series="training loss"]')
    row.wait_for()
    losses = [2.0 / step for step in range(1, 9)]
    mean, std = sum(losses) / 8, numpy.std(losses, ddof=1)
    ci = 2.365 * std / math.sqrt(8)  # Student t, df = 7
    assert row.locator(".stat-mean").text_content() == f"{js_fmt(mean)} ± {js_fmt(ci)}"
    assert row.locator(".stat-std").text_content() == js_fmt(std)
    assert row.locator(".stat-p90").text_content() == js_fmt(numpy.percentile(losses, 90))
    assert row.locator(".stat-p95").text_content() == js_fmt(numpy.percentile(losses, 95))
    assert ui.locator('#advanced-stats tr[data-series="learning rate"]').count() == 1
    assert ui.locator('#advanced-stats tr[data-series="tokens/s"]').count() == 1
    screenshot(ui, "job-advanced")
    # The system clipboard answers only the focused window, which a headless browser shared by many
    # tests does not always give this page: record what the page hands to the Clipboard API instead.
    ui.evaluate(
        "() => { window.copiedTexts = []; navigator.clipboard.writeText = async (text) => { window.copiedTexts.push(text); }; }"
    )
    ui.click("#copy-job-id")
    ui.locator("#copy-job-id[data-copy-state]").wait_for()
    assert ui.get_attribute("#copy-job-id", "data-copy-state") == "copied"
    assert ui.locator("#copy-job-id").text_content() == "Copied"
    assert ui.evaluate("window.copiedTexts") == [job_id]
    assert ui.console_watcher.errors == []


def test_downloaded_adapter_matches_the_backends_file(ui, project):
    job_id = project.submit("fast", name="download-run")
    project.wait_ended(job_id)
    pathname = "final/adapter_model.safetensors"
    original = (
        project.http.get(f"/v1/jobs/{job_id}/artifacts/{pathname}", params=project.scope).raise_for_status().content
    )
    ui.goto(ui.base + f"/#/jobs/{job_id}")
    row = ui.locator(".artifacts-table tbody tr").filter(has_text=pathname)
    row.wait_for(timeout=60_000)
    with ui.expect_response(lambda r: "/artifacts/final/" in r.url) as answer, ui.expect_download() as info:
        row.get_by_role("button", name="Download").click()
    headers = answer.value.all_headers()
    assert answer.value.status == 200 and headers["content-length"] == str(len(original))
    assert (
        headers["content-type"] == "application/octet-stream"
        and "adapter_model.safetensors" in headers["content-disposition"]
    )
    downloaded = info.value
    assert downloaded.failure() is None
    with open(downloaded.path(), "rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == hashlib.sha256(original).hexdigest()
    assert ui.console_watcher.errors == []


def test_runs_with_the_same_name_are_told_apart(ui, project):
    first, second = project.submit("fast", name="same-name"), project.submit("fast", name="same-name")
    project.wait_ended(first), project.wait_ended(second)
    ui.goto(ui.base + "/#/jobs")
    tags = []
    for job_id in (first, second):
        row = ui.locator(f'tr[data-job-id="{job_id}"]')
        row.wait_for(timeout=30_000)
        tag = row.locator(".job-tag").text_content()
        assert job_id[:8] in tag and job_id[-4:] in tag and "started" in tag
        tags.append(tag)
    assert tags[0] != tags[1]
    ui.goto(ui.base + "/#/compare")
    for job_id in (first, second):
        ui.locator(f'input[data-job-id="{job_id}"]').check(timeout=30_000)
    ui.locator(".chart-svg path.series").nth(1).wait_for(timeout=30_000)
    legend = [item.text_content() for item in ui.locator(".chart-legend .legend-item").all()]
    assert len(legend) == 2 and legend[0] != legend[1] and all(text.startswith("same-name · ") for text in legend)
    assert ui.console_watcher.errors == []


@pytest.mark.skipif(not protocol_has_evaluation_events(), reason="arkor.protocol has no evaluation.completed event yet")
def test_accuracy_per_step_is_charted_from_evaluation_events(ui, project):
    job_id = project.submit("eval", name="eval-run")
    events = project.wait_ended(job_id)["events"]
    evaluations = [event for event in events if event["type"] == "evaluation.completed"]
    assert len(evaluations) == 3
    ui.goto(ui.base + f"/#/jobs/{job_id}")
    ui.locator('#job-status [data-status="completed"]').wait_for(timeout=60_000)
    card = ui.locator("#accuracy-card")
    card.wait_for(timeout=60_000)
    for label in ("accuracy", "field: a", "field: b"):
        assert card.locator(f'path.series[data-series="{label}"]').count() == 1
    assert card.locator("circle.point").count() == 9  # 3 steps x (overall + 2 fields)
    assert "exact" in card.locator("#accuracy-scorer").text_content()
    lines = ui.locator('#event-log .log-line[data-kind="eval"]')
    assert lines.count() == 3
    assert "step=2 scorer=exact accuracy=0.500 a=0.667 b=0.500 rows=8" in lines.first.text_content()
    screenshot(ui, "job-accuracy")
    assert ui.console_watcher.errors == []


def test_model_pickers_list_the_registry(ui, project):
    from arkor.engine.models.registry import SUPPORTED_MODELS, TINY_TEST_MODEL

    expected = [*SUPPORTED_MODELS, TINY_TEST_MODEL]
    assert "unsloth/gemma-4-E4B-it" in expected
    ui.goto(ui.base + "/#/playground")
    ui.locator('#target option[value="base:arkor/tiny-test"]').wait_for(state="attached", timeout=30_000)
    assert (
        ui.locator('#target option[value^="base:"]').evaluate_all("(os) => os.map((o) => o.value.slice(5))") == expected
    )
    ui.goto(ui.base + "/#/endpoints")
    ui.click("#new-endpoint")
    ui.locator('#endpoint-target option[value="base:arkor/tiny-test"]').wait_for(state="attached", timeout=30_000)
    assert (
        ui.locator('#endpoint-target option[value^="base:"]').evaluate_all("(os) => os.map((o) => o.value.slice(5))")
        == expected
    )
    assert ui.console_watcher.errors == []


def _server_error_frames() -> bytes:
    """What the backend's inference route sends when generation fails after the reply started."""
    import asyncio

    from arkor.protocol import ChatCompletionChunk
    from arkor.server.inference_service import sse_stream
    from arkor.server.limits import BlockingPools

    def chunks():  # type: ignore[no-untyped-def]
        yield ChatCompletionChunk.model_validate(
            {
                "id": "c1",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": "m",
                "choices": [{"index": 0, "delta": {"content": "Partial answer"}}],
            }
        )
        raise RuntimeError("CUDA out of memory while decoding")

    async def collect() -> bytes:
        return b"".join([frame async for frame in sse_stream(chunks(), BlockingPools(1))])

    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # the page's Playwright loop owns this thread
        return pool.submit(asyncio.run, collect()).result()


def test_playground_shows_an_in_band_stream_error(ui, project):
    body = _server_error_frames()
    assert b"event: error" in body
    ui.route(
        "**/api/inference/chat",
        lambda route: route.fulfill(status=200, body=body, headers={"Content-Type": "text/event-stream"}),
    )
    ui.goto(ui.base + "/#/playground")
    ui.locator('#target option[value="base:arkor/tiny-test"]').wait_for(state="attached", timeout=30_000)
    ui.fill("#chat-input", "hello")
    ui.click("#send")
    done = ui.locator('.bubble.assistant[data-done="true"]')
    done.wait_for(timeout=30_000)
    assert done.get_attribute("data-error") == "true"
    assert done.locator(".bubble-text").text_content() == "Partial answer"
    assert (
        done.locator(".bubble-error").text_content()
        == "The reply stopped early with an error: CUDA out of memory while decoding"
    )
    assert ui.console_watcher.errors == []


def test_overview_reattaches_to_a_running_run_and_stops_it(ui, studio_on_fake_backend, project):
    write_trainer(studio_on_fake_backend.project, name="long-fake", max_steps=20_000)
    try:
        ui.goto(ui.base + "/#/")
        run = ui.locator("#run-training")
        run.filter(has_text="Run training: long-fake").wait_for(timeout=120_000)
        run.click()
        ui.wait_for_function(
            "() => document.querySelector('#train-log').textContent.includes('Started job')", timeout=120_000
        )
        started = re.search(r"Started job \S+", ui.locator("#train-log").text_content()).group(0)
        ui.click('#nav a[data-tab="jobs"]')
        ui.locator(".jobs-table").wait_for(timeout=30_000)
        ui.click('#nav a[data-tab="overview"]')
        stop = ui.locator("#stop-training")
        stop.wait_for(timeout=30_000)  # visible again: the run is re-attached
        ui.locator("#train-log").filter(has_text=started).wait_for(timeout=30_000)  # the output so far is back
        assert run.is_disabled() and run.text_content() == "Running…"
        screenshot(ui, "overview-reattached")
        ui.reload()  # a fresh page load re-attaches too
        stop.wait_for(timeout=30_000)
        ui.locator("#train-log").filter(has_text=started).wait_for(timeout=30_000)
        stop.click()
        ui.locator("#train-log").filter(has_text="[stopped from Studio]").wait_for(timeout=60_000)
        assert "\n---\nexit=" in ui.locator("#train-log").text_content()
        run.filter(has_text="Run training: long-fake").wait_for(timeout=30_000)
        assert run.is_enabled() and stop.is_hidden()
        assert ui.console_watcher.errors == []
    finally:
        write_trainer(studio_on_fake_backend.project, name="e2e-tiny", max_steps=6)


def test_outside_a_project_the_overview_says_how_to_create_one(ui, studio_on_fake_backend, project):
    entry = studio_on_fake_backend.project / "src" / "arkor" / "index.py"
    moved = entry.with_name("index.py.moved")
    entry.rename(moved)
    try:
        ui.goto(ui.base + "/#/")
        message = ui.locator("#no-project")
        message.wait_for(timeout=60_000)
        assert "arkor init" in message.text_content()
        assert ui.locator("#run-training").is_hidden()
        body = ui.locator("body").text_content()
        assert "TrainingEntryError" not in body and "Click Run training" not in body
        screenshot(ui, "overview-no-project")
        assert ui.console_watcher.errors == []
    finally:
        moved.rename(entry)

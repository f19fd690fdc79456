"""Studio in a real Chromium against a real `arkor dev`, embedded backend and tiny-model training.

Runs in order: train a short job from the Overview page and follow it to completion, chat with its
adapter, then cancel a long job. Every page is screenshotted and must log no console errors.
"""

from __future__ import annotations

import hashlib
import re

import pytest
from studio_helpers import screenshot, write_trainer

TRAIN_TIMEOUT_MS = 420_000
JOB_ID = re.compile(r"Started job (\S+)")
ran: dict[str, str] = {}


def no_console_errors(page) -> None:  # type: ignore[no-untyped-def]
    assert page.console_watcher.errors == []


def start_training_from_overview(page, studio, trainer_name: str) -> str:  # type: ignore[no-untyped-def]
    page.goto(studio.base + "/#/")
    button = page.locator("#run-training")
    button.filter(has_text=f"Run training: {trainer_name}").wait_for(timeout=120_000)
    assert button.is_enabled()
    button.click()
    assert button.is_disabled()  # no second run while one is in flight
    page.wait_for_function(
        "() => document.querySelector('#train-log').textContent.includes('Started job')", timeout=TRAIN_TIMEOUT_MS
    )
    return JOB_ID.search(page.locator("#train-log").text_content()).group(1)


def test_run_training_then_follow_the_job_to_completion(page, studio):
    page.goto(studio.base + "/#/")
    page.locator("#run-training").filter(has_text="Run training: e2e-tiny").wait_for(timeout=120_000)
    screenshot(page, "overview")
    job_id = start_training_from_overview(page, studio, "e2e-tiny")
    ran["tiny"] = job_id

    page.goto(studio.base + "/#/jobs")
    row = page.locator(f'tr[data-job-id="{job_id}"]')
    row.wait_for(timeout=30_000)
    assert "e2e-tiny" in row.text_content()
    page.fill('input[type="search"]', "no-such-job")
    page.get_by_text("No matches").wait_for()
    page.fill('input[type="search"]', "e2e")
    row.wait_for()
    screenshot(page, "jobs")

    row.locator("a.job-link").click()
    page.wait_for_url(re.compile(rf"#/jobs/{job_id}$"))
    page.wait_for_function(
        "() => document.querySelectorAll('#loss-chart .chart-svg circle.point').length >= 1", timeout=TRAIN_TIMEOUT_MS
    )
    first = page.locator("#loss-chart .chart-svg circle.point").count()
    page.wait_for_function(
        "() => document.querySelectorAll('#loss-chart .chart-svg circle.point').length >= 6", timeout=TRAIN_TIMEOUT_MS
    )
    assert page.locator("#loss-chart .chart-svg circle.point").count() > first or first >= 6
    page.locator('#job-status [data-status="completed"]').wait_for(timeout=TRAIN_TIMEOUT_MS)
    final = page.locator(".artifacts-table tbody tr").filter(has_text="final/adapter_model.safetensors")
    final.wait_for(timeout=60_000)  # listed again once training.completed arrives
    assert page.locator(".artifacts-table tbody tr").count() >= 2
    # The real adapter downloads whole: same bytes as the backend's stored file.
    stored = [studio.arkor_home / "server" / "artifacts" / job_id / "final" / "adapter_model.safetensors"]
    assert stored[0].is_file()  # the embedded backend's artifact store (its default local root)
    with page.expect_download() as info:
        final.get_by_role("button", name="Download").click()
    with open(info.value.path(), "rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == hashlib.sha256(stored[0].read_bytes()).hexdigest()
    assert page.locator("#open-playground").is_visible()
    assert not page.locator("#cancel-job").is_visible()
    page.locator("#loss-chart .chart-svg rect").hover()
    page.locator("#loss-chart .chart-tooltip").filter(has_text="step").wait_for()
    screenshot(page, "job-detail")
    no_console_errors(page)


def test_playground_streams_a_reply_from_the_adapter(page, studio):
    job_id = ran.get("tiny") or pytest.skip("needs the trained job of the previous test")
    page.goto(studio.base + f"/#/playground?adapter={job_id}")
    page.locator('#checkpoint option[value="final"]').wait_for(state="attached", timeout=30_000)
    assert page.locator("#target").input_value() == f"job:{job_id}"
    page.fill("#max-tokens", "12")
    page.fill("#chat-input", "What colour is item 3?")
    page.click("#send")
    done = page.locator('.bubble.assistant[data-done="true"]')
    done.wait_for(timeout=300_000)
    reply = done.locator(".bubble-text").text_content()
    assert reply.strip() and "[error]" not in reply
    screenshot(page, "playground")
    no_console_errors(page)


def test_cancel_stops_a_running_job(page, studio):
    write_trainer(studio.project, name="e2e-long", max_steps=5000)  # the manifest is re-read, no restart
    job_id = start_training_from_overview(page, studio, "e2e-long")
    page.goto(studio.base + f"/#/jobs/{job_id}")
    page.locator("h1").filter(has_text="e2e-long").wait_for(timeout=30_000)  # the edited trainer ran
    page.locator('#job-status [data-status="running"]').wait_for(timeout=TRAIN_TIMEOUT_MS)
    page.click("#cancel-job")
    page.locator('#job-status [data-status="cancelled"]').wait_for(timeout=120_000)
    screenshot(page, "job-cancelled")
    page.goto(studio.base + "/#/jobs")
    page.locator(f'tr[data-job-id="{job_id}"] [data-status="cancelled"]').wait_for(timeout=30_000)
    no_console_errors(page)


def test_compare_and_endpoints_pages_render(page, studio):
    job_id = ran.get("tiny") or pytest.skip("needs the trained job of the first test")
    page.goto(studio.base + "/#/compare")
    checkbox = page.locator(f'input[data-job-id="{job_id}"]')
    checkbox.wait_for(timeout=30_000)
    checkbox.check()
    page.locator(".chart-svg path.series").first.wait_for(timeout=60_000)
    screenshot(page, "compare")
    page.goto(studio.base + "/#/endpoints")
    page.wait_for_function("() => !document.querySelector('.page .skeleton')", timeout=60_000)
    screenshot(page, "endpoints")
    no_console_errors(page)

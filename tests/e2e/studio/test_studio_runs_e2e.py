"""Runs you can compare, in a real Chromium against `arkor dev` on a real backend running the scripted fake
worker: the Jobs list's metric columns and sorting, Compare's config/metric tables, series, smoothing and
log scale, and a run's CSV/JSON export from Job detail, each checked against the backend's own events.
"""

from __future__ import annotations

import csv
import io
import json

import httpx
import pytest
from studio_helpers import screenshot
from test_studio_jobs_e2e import FakeProject

# name -> (fake mode, maxSteps, learningRate): final loss is 2 / maxSteps; eval runs log accuracy step / (step + 2).
RUNS = {"run-long": ("eval", 6, 1e-4), "run-metrics": ("metrics", 4, 1e-4), "run-short": ("eval", 2, 3e-4)}


def last(events: list[dict], kind: str, field: str) -> float | None:
    values = [e[field] for e in events if e["type"] == kind and e.get(field) is not None]
    return values[-1] if values else None


@pytest.fixture(scope="module")
def runs(studio_on_fake_backend, fake_backend) -> dict:
    """The three ended runs: name -> {id, events} (events as the backend stores them)."""
    project = FakeProject(studio_on_fake_backend, fake_backend.url)
    ids = {
        name: project.submit(mode, name=name, maxSteps=steps, learningRate=lr)
        for name, (mode, steps, lr) in RUNS.items()
    }
    out = {}
    for name, job_id in ids.items():
        ended = project.wait_ended(job_id)
        assert ended["job"]["status"] == "completed", ended["job"]
        out[name] = {"id": job_id, "events": ended["events"]}
    return out


@pytest.fixture
def ui(open_page, studio_on_fake_backend):  # type: ignore[no-untyped-def]
    page = open_page(studio_on_fake_backend, timezone_id="UTC")
    page.base = studio_on_fake_backend.base
    return page


def test_summary_route_computes_each_runs_final_metrics_from_its_events(studio_on_fake_backend, runs):
    answer = (
        httpx.get(
            studio_on_fake_backend.base + "/api/jobs/summary",
            headers={"X-Arkor-Studio-Token": studio_on_fake_backend.token},
            timeout=30,
        )
        .raise_for_status()
        .json()
    )
    refused = httpx.get(studio_on_fake_backend.base + "/api/jobs/summary", timeout=30)
    assert refused.status_code in (401, 403), refused.text  # the per-launch token guards it like every /api route
    assert answer["omitted"] == 0 and answer["limit"] >= 3
    for name, run in runs.items():
        summary = answer["summaries"][run["id"]]
        events = run["events"]
        assert summary["finalLoss"] == pytest.approx(last(events, "training.log", "loss"))
        assert summary["finalLoss"] == pytest.approx(2 / RUNS[name][1])
        assert summary["steps"] == RUNS[name][1]
        assert summary["evalLoss"] is None
        assert summary["accuracy"] == (
            None if RUNS[name][0] == "metrics" else pytest.approx(last(events, "evaluation.completed", "accuracy"))
        )


def test_summary_reads_only_the_newest_jobs_up_to_its_bound(studio_on_fake_backend, runs):
    headers = {"X-Arkor-Studio-Token": studio_on_fake_backend.token}
    url = studio_on_fake_backend.base + "/api/jobs/summary"
    answer = httpx.get(url, params={"limit": 2}, headers=headers, timeout=30).raise_for_status().json()
    assert answer["limit"] == 2 and answer["omitted"] == 1
    assert set(answer["summaries"]) == {runs["run-short"]["id"], runs["run-metrics"]["id"]}  # newest first
    capped = httpx.get(url, params={"limit": 10_000}, headers=headers, timeout=30).raise_for_status().json()
    assert capped["limit"] == 50 and len(capped["summaries"]) == 3


def column(ui, key: str) -> list[str]:
    return [t.strip() for t in ui.locator(f".jobs-table tbody td[data-col='{key}']").all_text_contents()]


def test_jobs_list_shows_metric_columns_and_sorts_by_any_of_them(ui, runs):
    ui.goto(ui.base + "/#/jobs")
    ui.locator(".jobs-table tbody tr").nth(2).wait_for()
    ui.wait_for_function(
        "() => [...document.querySelectorAll(\".jobs-table td[data-col='finalLoss']\")].every((td) => td.textContent !== '—')"
    )
    ui.locator("th[data-sort='finalLoss'] button").click()
    order = [ui.locator(".jobs-table tbody tr").nth(i).get_attribute("data-job-id") for i in range(3)]
    assert order == [runs["run-long"]["id"], runs["run-metrics"]["id"], runs["run-short"]["id"]]  # 0.333 < 0.5 < 1.0
    assert column(ui, "finalLoss") == ["0.3333", "0.5000", "1.0000"]
    assert ui.locator("th[data-sort='finalLoss']").get_attribute("aria-sort") == "ascending"
    ui.locator("th[data-sort='finalLoss'] button").click()
    assert column(ui, "finalLoss") == ["1.0000", "0.5000", "0.3333"]
    assert ui.locator("th[data-sort='finalLoss']").get_attribute("aria-sort") == "descending"
    ui.locator("th[data-sort='accuracy'] button").click()  # 0.5 (2/4) < 0.75 (6/8); the run without accuracy last
    assert column(ui, "accuracy") == ["0.500", "0.750", "—"]
    ui.locator("th[data-sort='accuracy'] button").click()  # reversed, and a missing value still last
    assert column(ui, "accuracy") == ["0.750", "0.500", "—"]
    ui.locator("th[data-sort='steps'] button").click()
    assert column(ui, "steps") == ["2", "4", "6"]
    ui.locator("th[data-sort='name'] button").click()
    assert [ui.locator(".jobs-table tbody tr").nth(i).get_attribute("data-job-id") for i in range(3)] == [
        runs["run-long"]["id"],
        runs["run-metrics"]["id"],
        runs["run-short"]["id"],
    ]
    assert column(ui, "model") == ["fake/eval", "fake/metrics", "fake/eval"]
    screenshot(ui, "runs-jobs-sorted")
    assert ui.console_watcher.errors == []


def test_compare_highlights_differing_config_and_overlays_smoothed_log_scale_series(ui, runs):
    ui.goto(ui.base + "/#/compare")
    for name in ("run-long", "run-short"):
        ui.locator(f"input[data-job-id='{runs[name]['id']}']").check()
    ui.locator(".compare-metrics tr[data-metric='Final loss'] td").nth(1).wait_for()
    ui.wait_for_function(
        "() => [...document.querySelectorAll('.compare-metrics td')].every((td) => td.textContent !== '…')"
    )
    assert [t.strip() for t in ui.locator(".compare-metrics tr[data-metric='Final loss'] td").all_text_contents()] == [
        "0.3333",
        "1.0000",
    ]
    assert [t.strip() for t in ui.locator(".compare-metrics tr[data-metric='Accuracy'] td").all_text_contents()] == [
        "0.750",
        "0.500",
    ]
    differing = ui.locator(".compare-config tr[data-differs='true']")
    assert sorted(differing.nth(i).get_attribute("data-key") for i in range(differing.count())) == [
        "learningRate",
        "maxSteps",
        "name",
    ]
    max_steps = ui.locator(".compare-config tr[data-key='maxSteps'] td")
    assert max_steps.all_text_contents() == ["6", "2"]
    assert all("differs" in (max_steps.nth(i).get_attribute("class") or "") for i in range(2))
    same = ui.locator(".compare-config tr[data-key='model'] td")
    assert same.all_text_contents() == ["fake/eval", "fake/eval"]
    assert not any("differs" in (same.nth(i).get_attribute("class") or "") for i in range(2))

    paths = ui.locator("#compare-chart path.series")
    assert paths.count() == 2
    ui.locator("#compare-series").select_option("accuracy")
    assert (
        ui.locator("#compare-chart circle.point").count() == 3 + 1
    )  # run-long evaluates at steps 2, 4, 6; run-short at 2
    raw_path = paths.first.get_attribute("d")
    ui.locator("#smoothing").fill("0.6")
    assert ui.locator("#smoothing-value").text_content() == "0.60"
    assert paths.first.get_attribute("d") != raw_path
    accuracy = [
        {"x": e["step"], "y": e["accuracy"]} for e in runs["run-long"]["events"] if e["type"] == "evaluation.completed"
    ]
    smoothed = ui.evaluate("async (pts) => (await import('/js/pages/compare.js')).smooth(pts, 0.6)", accuracy)
    ema, expected = 0.0, []
    for i, p in enumerate(accuracy):  # TensorBoard's debiased EMA, written out independently
        ema = ema * 0.6 + 0.4 * p["y"]
        expected.append(ema / (1 - 0.6 ** (i + 1)))
    assert [p["y"] for p in smoothed] == pytest.approx(expected)
    assert smoothed[0]["y"] == pytest.approx(accuracy[0]["y"])
    ui.locator("#compare-series").select_option("loss")
    ui.locator("#smoothing").fill("0")
    assert ui.locator("#compare-chart svg.chart-svg").get_attribute("data-scale") == "linear"
    ui.locator("#log-scale").check()
    assert ui.locator("#compare-chart svg.chart-svg").get_attribute("data-scale") == "log"
    labels = ui.locator("#compare-chart text.axis").all_text_contents()
    assert "2.000" in labels and "0.333" in labels  # the loss range 2/1 .. 2/6, labelled in data units on a log axis
    screenshot(ui, "runs-compare")
    assert ui.console_watcher.errors == []


def test_job_detail_downloads_the_runs_events_as_csv_and_json(ui, runs):
    run = runs["run-long"]
    ui.goto(ui.base + f"/#/jobs/{run['id']}")
    ui.locator('#job-status [data-status="completed"]').wait_for(timeout=60_000)
    with ui.expect_download() as info:
        ui.locator("#export-csv").click()
    assert info.value.suggested_filename == f"{run['id']}-events.csv"
    rows = list(csv.DictReader(io.StringIO(open(info.value.path(), encoding="utf-8").read())))
    events = run["events"]
    assert len(rows) == len(events)
    for row, event in zip(rows, events):
        assert row["type"] == event["type"] and row["timestamp"] == event["timestamp"]
        assert row["step"] == ("" if event.get("step") is None else str(event["step"]))
        for key in ("loss", "learningRate", "tokensPerSecond", "accuracy", "scorer"):
            if event.get(key) is not None:
                assert row[key] == str(event[key]), (key, row, event)
        for field, value in (event.get("fields") or {}).items():
            assert float(row[f"fields.{field}"]) == value
    with ui.expect_download() as info:
        ui.locator("#export-json").click()
    exported = json.loads(open(info.value.path(), encoding="utf-8").read())
    assert exported["events"] == events
    assert exported["job"]["id"] == run["id"]
    assert exported["summary"]["finalLoss"] == pytest.approx(2 / 6) and exported["summary"][
        "accuracy"
    ] == pytest.approx(6 / 8)
    screenshot(ui, "runs-job-export")
    assert ui.console_watcher.errors == []

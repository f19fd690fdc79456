"""Studio's Endpoints and Playground pages against real deployments, in a real Chromium.

A completed tiny-model job is reused from the earlier e2e test when this session has one (same
`studio` fixture), else trained here. The UI creates a `fixed_api_key` endpoint for its final
adapter and issues a key whose plaintext is read from the page once; the real `openai` package then
calls the deployment with that key, gets 404 after the UI disables it and 401 after the UI revokes
the key. In the Playground, a JSON schema reply must parse and validate; a JSON object reply must be
an object (complete, or a prefix the page marks as cut by max tokens: a random tiny model never
closes an unbounded string).
"""

from __future__ import annotations

import json
import re
import time

import httpx
import jsonschema
import openai
import pytest
from studio_helpers import screenshot, write_trainer

TRAIN_TIMEOUT_S = 420
JOB_ID = re.compile(r"Started job (\S+)")
SLUG = "e2e-keyed"
MESSAGES = [{"role": "user", "content": "What colour is item 3?"}]


def no_console_errors(page) -> None:  # type: ignore[no-untyped-def]
    assert page.console_watcher.errors == []


def studio_api(studio) -> httpx.Client:  # type: ignore[no-untyped-def]
    return httpx.Client(base_url=studio.base, headers={"X-Arkor-Studio-Token": studio.token}, timeout=60)


@pytest.fixture(scope="module")
def completed_job(studio) -> str:  # type: ignore[no-untyped-def]
    """A completed job's id: one this session already trained, else a fresh 6-step tiny run."""
    with studio_api(studio) as api:
        done = [j for j in api.get("/api/jobs").json()["jobs"] if j["status"] == "completed"]
        if done:
            return done[0]["id"]
        write_trainer(studio.project, name="e2e-serving", max_steps=6)
        with api.stream("POST", "/api/train", json={}, timeout=TRAIN_TIMEOUT_S) as response:
            output = "".join(response.iter_text())
        assert "exit=0" in output, output
        job_id = JOB_ID.search(output).group(1)
        deadline = time.monotonic() + TRAIN_TIMEOUT_S
        while (status := api.get(f"/api/jobs/{job_id}").json()["job"]["status"]) != "completed":
            assert status not in ("failed", "cancelled") and time.monotonic() < deadline, status
            time.sleep(1)
        return job_id


@pytest.fixture(scope="module")
def backend_url(studio) -> str:  # type: ignore[no-untyped-def]
    with studio_api(studio) as api:
        return api.get("/api/credentials").json()["baseUrl"].rstrip("/")


def test_endpoint_with_a_key_serves_the_openai_client_until_disabled(page, studio, completed_job, backend_url):
    page.goto(studio.base + "/#/endpoints")
    page.wait_for_function("() => !document.querySelector('.page .skeleton')", timeout=60_000)
    page.click("#new-endpoint")
    page.fill("#endpoint-slug", SLUG)
    page.select_option("#endpoint-target", f"job:{completed_job}")
    page.locator('#endpoint-weights option[value="3"]').wait_for(state="attached", timeout=30_000)  # checkpoints listed
    page.select_option("#endpoint-weights", "final")
    page.select_option("#endpoint-auth", "fixed_api_key")
    page.click("#create-endpoint")
    page.wait_for_url(re.compile(r"#/endpoints/[^/]+$"), timeout=30_000)

    url = f"{backend_url}/d/{SLUG}/v1"
    page.locator("#endpoint-url").filter(has_text=url).wait_for(timeout=30_000)
    assert page.locator("#endpoint-url").text_content() == url  # absolute, on the backend, not Studio
    assert (
        url in page.locator("#endpoint-sample").text_content()
        and "Bearer $ARKOR_API_KEY" in page.locator("#endpoint-sample").text_content()
    )
    page.click('[data-sample="python"]')
    python_sample = page.locator("#endpoint-sample").text_content()
    assert "from openai import OpenAI" in python_sample and f'base_url="{url}"' in python_sample
    assert page.locator('#endpoint-state [data-state="enabled"]').is_visible()
    page.locator("#endpoint-keys").filter(has_text="No keys yet").wait_for(timeout=30_000)

    page.fill("#key-label", "e2e-client")
    page.click("#create-key")
    plaintext = page.locator("#key-plaintext").text_content().strip()
    prefix_cell = page.locator(".keys-table .key-prefix").first
    prefix_cell.wait_for(timeout=30_000)
    prefix = prefix_cell.text_content().rstrip("…")
    assert plaintext.startswith(prefix) and len(plaintext) > len(prefix)
    screenshot(page, "endpoints-detail")
    page.click("#key-dismiss")
    assert page.locator("#key-plaintext").count() == 0
    page.reload()
    page.locator(".keys-table .key-prefix").first.wait_for(timeout=30_000)
    assert plaintext not in page.content()  # shown exactly once

    client = openai.OpenAI(base_url=url, api_key=plaintext, max_retries=0, timeout=300)
    completion = client.chat.completions.create(model=SLUG, messages=MESSAGES, max_tokens=8, temperature=0)
    assert isinstance(completion.choices[0].message.content, str) and completion.choices[0].finish_reason in (
        "stop",
        "length",
    )
    assert 0 < completion.usage.completion_tokens <= 8
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=url, api_key=plaintext + "x", max_retries=0).chat.completions.create(
            model=SLUG, messages=MESSAGES, max_tokens=2
        )

    page.click("#toggle-enabled")
    page.locator('#endpoint-state [data-state="disabled"]').wait_for(timeout=30_000)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model=SLUG, messages=MESSAGES, max_tokens=2)
    page.goto(studio.base + "/#/endpoints")
    page.locator(f'tr[data-slug="{SLUG}"] [data-state="disabled"]').wait_for(timeout=30_000)
    assert url in page.locator(f'tr[data-slug="{SLUG}"]').text_content()

    page.locator(f'tr[data-slug="{SLUG}"] a.job-link').click()
    page.click("#toggle-enabled")
    page.locator('#endpoint-state [data-state="enabled"]').wait_for(timeout=30_000)
    revoke = page.locator(".keys-table .revoke-key").first
    revoke.click()
    revoke.filter(has_text="Click again").click()  # the second click confirms
    page.locator(".keys-table tr.revoked").first.wait_for(timeout=30_000)
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model=SLUG, messages=MESSAGES, max_tokens=2)
    no_console_errors(page)


def send_and_wait(page, text: str, turn: int) -> tuple[str, str | None]:  # type: ignore[no-untyped-def]
    """Send one message; the finished assistant bubble's text and its `data-json-valid` mark."""
    page.fill("#chat-input", text)
    page.click("#send")
    done = page.locator('.bubble.assistant[data-done="true"]').nth(turn)
    done.wait_for(timeout=300_000)
    return done.locator(".bubble-text").text_content(), done.get_attribute("data-json-valid")


def test_playground_json_formats_stream_constrained_json(page, studio, completed_job):
    page.goto(studio.base + f"/#/playground?adapter={completed_job}")
    page.locator('#checkpoint option[value="final"]').wait_for(state="attached", timeout=30_000)
    page.fill("#temperature", "0")
    page.fill("#max-tokens", "96")

    # JSON object: the grammar allows any object, and the tiny random model never closes its first
    # string, so the reply is a JSON-object prefix that the page marks as cut by max tokens.
    page.select_option("#response-format", "json_object")
    assert not page.locator("#json-schema").is_visible()
    reply, valid = send_and_wait(page, "Describe item 3 as a JSON object.", 0)
    assert reply.startswith("{"), reply
    if valid == "true":
        assert isinstance(json.loads(reply), dict)
    else:
        assert valid == "false"
        page.locator(".json-check.bad").filter(has_text="max tokens").wait_for()

    # JSON schema (the page's bounded example): the reply must parse and validate every time.
    page.select_option("#response-format", "json_schema")
    assert page.locator("#json-schema").is_visible()
    schema = json.loads(page.locator("#json-schema").input_value())
    reply, valid = send_and_wait(page, "Describe item 3 as JSON.", 1)
    jsonschema.validate(json.loads(reply), schema)
    assert valid == "true"
    page.locator(".json-check.ok").filter(has_text="valid JSON").wait_for()
    screenshot(page, "playground-json")

    page.fill("#json-schema", "{not json")
    page.fill("#chat-input", "again")
    page.click("#send")
    page.locator("#format-error").filter(has_text="not valid JSON").wait_for()
    assert page.locator(".bubble.assistant").count() == 2  # nothing was sent
    no_console_errors(page)


def test_task_presets_fill_the_playground_and_the_endpoint_samples(page, studio, completed_job):
    import ast
    import shlex

    from arkor.templates.scoring import answer_response_format, task_presets

    triage = next(p for p in task_presets().presets if p.template == "triage")
    page.goto(studio.base + f"/#/playground?adapter={completed_job}")
    page.locator('#preset option[value="triage"]').wait_for(state="attached", timeout=30_000)
    # The tiny job was not trained from a template, so nothing is preset until the user picks one.
    assert page.locator("#preset").input_value() == ""
    page.select_option("#preset", "triage")
    assert page.locator("#system-prompt").input_value() == triage.system_prompt
    assert page.locator("#response-format").input_value() == "json_schema"
    assert (
        json.loads(page.locator("#json-schema").input_value())
        == answer_response_format("triage")["json_schema"]["schema"]
    )
    assert page.locator("#temperature").input_value() == "0"
    assert triage.example in page.locator("#chat-input").get_attribute("placeholder")

    # A job whose evalScorer names a template gets its preset; the samples of its endpoints carry it.
    found = page.evaluate(
        """async () => {
            const { apiJson } = await import('/js/api.js');
            const { presetForJob } = await import('/js/pages/playground.js');
            const { samples } = await import('/js/pages/endpoint.js');
            const { presets } = await apiJson('/api/presets');
            const preset = presetForJob({ config: { evalScorer: 'redaction' } }, presets);
            const none = presetForJob({ config: {} }, presets);
            const deployment = { slug: "redact-it", authMode: "fixed_api_key", endpointUrl: "http://127.0.0.1:9/d/redact-it/v1" };
            return { template: preset.template, none, code: samples(deployment, preset), plain: samples(deployment) };
        }"""
    )
    assert found["template"] == "redaction" and found["none"] is None
    redaction = next(p for p in task_presets().presets if p.template == "redaction")
    expected = {
        "model": "redact-it",
        "messages": [
            {"role": "system", "content": redaction.system_prompt},
            {"role": "user", "content": redaction.example},
        ],
        "temperature": 0,
        "response_format": answer_response_format("redaction"),
    }
    words = shlex.split(found["code"]["curl"].replace("\\\n", " "))
    assert json.loads(words[words.index("-d") + 1]) == expected  # the shell hands curl exactly this body
    tree = ast.parse(found["code"]["python"])
    create = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "create")
    sent = {kw.arg: ast.literal_eval(kw.value) for kw in create.keywords}
    assert sent == expected
    assert '"Hello"' in found["plain"]["curl"] and "response_format" not in found["plain"]["python"]
    no_console_errors(page)

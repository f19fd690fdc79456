"""The official `openai` package against `/d/<slug>/v1` of a deployed tiny-model adapter: plain and
streamed chat, structured outputs (json_schema strict, json_object, regex, choice, grammar) holding on
every sample, tool calls (required / named, parsed into `tool_calls`, then a reply to the tool
result), key auth and disabled endpoints."""

from __future__ import annotations

import json
import re

import httpx
import jsonschema
import openai
import pytest
from serving_helpers import Served

MESSAGES = [{"role": "user", "content": "Classify: my invoice is wrong"}]
TICKET_SCHEMA = {
    "type": "object",
    "properties": {
        "label": {"enum": ["bug", "billing", "other"]},
        "priority": {"type": "integer", "minimum": 1, "maximum": 5},
        "urgent": {"type": "boolean"},
        "summary": {"type": "string", "maxLength": 8},
    },
    "required": ["label", "priority", "urgent", "summary"],
    "additionalProperties": False,
}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "maxLength": 12}, "unit": {"enum": ["c", "f"]}},
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {
            "type": "object",
            "properties": {"zone": {"enum": ["utc", "local"]}},
            "required": ["zone"],
            "additionalProperties": False,
        },
    },
}


@pytest.fixture(scope="module")
def open_client(served: Served) -> openai.OpenAI:
    created = served.api.create_deployment(
        "tiny-open", {"kind": "adapter", "adapter": {"kind": "final", "jobId": served.job_id}}
    )
    assert created.status_code == 201, created.text
    return openai.OpenAI(base_url=f"{served.server.url}/d/tiny-open/v1", api_key="not-required", max_retries=0)


@pytest.fixture(scope="module")
def keyed(served: Served) -> tuple[str, str]:
    """(base URL, plaintext key) of a fixed_api_key deployment of checkpoint step 2."""
    api = served.api
    created = api.create_deployment(
        "tiny-keyed",
        {"kind": "adapter", "adapter": {"kind": "checkpoint", "jobId": served.job_id, "step": 2}},
        "fixed_api_key",
    )
    assert created.status_code == 201, created.text
    dep_id = created.json()["deployment"]["id"]
    key = api.http.post(f"/v1/endpoints/{dep_id}/keys", params=api.scope, json={"label": "tests"}).json()["key"]
    return f"{served.server.url}/d/tiny-keyed/v1", key["plaintext"]


def test_plain_completion_and_models(open_client: openai.OpenAI) -> None:
    completion = open_client.chat.completions.create(model="ignored", messages=MESSAGES, max_tokens=8, temperature=0)
    assert completion.object == "chat.completion"
    choice = completion.choices[0]
    assert choice.message.role == "assistant" and isinstance(choice.message.content, str)
    assert choice.finish_reason in ("stop", "length")
    assert completion.usage is not None and 0 < completion.usage.completion_tokens <= 8
    again = open_client.chat.completions.create(model="x", messages=MESSAGES, max_completion_tokens=8, temperature=0)
    assert again.choices[0].message.content == choice.message.content  # greedy is deterministic
    assert [m.id for m in open_client.models.list().data] == ["tiny-open"]


def test_streaming(open_client: openai.OpenAI) -> None:
    stream = open_client.chat.completions.create(model="x", messages=MESSAGES, max_tokens=8, temperature=0, stream=True)
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    whole = open_client.chat.completions.create(model="x", messages=MESSAGES, max_tokens=8, temperature=0)
    assert text == whole.choices[0].message.content


def test_json_schema_holds_on_every_sample(open_client: openai.OpenAI) -> None:
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "ticket", "schema": TICKET_SCHEMA, "strict": True},
    }
    for seed in range(20):
        completion = open_client.chat.completions.create(
            model="x", messages=MESSAGES, temperature=1.0, seed=seed, max_tokens=200, response_format=response_format
        )
        content = completion.choices[0].message.content
        assert completion.choices[0].finish_reason == "stop", content
        jsonschema.validate(json.loads(content), TICKET_SCHEMA)


def test_json_object_and_vllm_constraints(open_client: openai.OpenAI) -> None:
    completion = open_client.chat.completions.create(
        model="x", messages=MESSAGES, temperature=1.0, seed=3, max_tokens=40, response_format={"type": "json_object"}
    )
    if completion.choices[0].finish_reason == "stop":
        assert isinstance(json.loads(completion.choices[0].message.content), dict)
    else:  # a long object hit max_tokens: still a valid JSON-object prefix
        assert completion.choices[0].message.content.lstrip().startswith("{")
    for seed in range(5):
        regex = open_client.chat.completions.create(
            model="x",
            messages=MESSAGES,
            temperature=1.0,
            seed=seed,
            max_tokens=20,
            extra_body={"structured_outputs": {"regex": r"TKT-[0-9]{4}"}},
        )
        assert re.fullmatch(r"TKT-[0-9]{4}", regex.choices[0].message.content)
        choice = open_client.chat.completions.create(
            model="x",
            messages=MESSAGES,
            temperature=1.0,
            seed=seed,
            max_tokens=10,
            extra_body={"structured_outputs": {"choice": ["bug", "billing", "other"]}},
        )
        assert choice.choices[0].message.content in {"bug", "billing", "other"}
        grammar = open_client.chat.completions.create(
            model="x",
            messages=MESSAGES,
            temperature=1.0,
            seed=seed,
            max_tokens=20,
            extra_body={"structured_outputs": {"grammar": 'start: "yes" | "no" | "maybe " NUM\nNUM: /[0-9]/'}},
        )
        assert re.fullmatch(r"yes|no|maybe [0-9]", grammar.choices[0].message.content)


def test_constraint_validation_errors_are_400(open_client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="not both"):
        open_client.chat.completions.create(
            model="x",
            messages=MESSAGES,
            response_format={"type": "json_object"},
            extra_body={"structured_outputs": {"regex": "a"}},
        )
    with pytest.raises(openai.BadRequestError, match="exactly one"):
        open_client.chat.completions.create(
            model="x", messages=MESSAGES, extra_body={"structured_outputs": {"regex": "a", "choice": ["b"]}}
        )
    with pytest.raises(openai.BadRequestError, match="n=1"):
        open_client.chat.completions.create(model="x", messages=MESSAGES, n=2)


def test_tool_call_round_trip(open_client: openai.OpenAI) -> None:
    for tool_choice, expected in (
        ("required", {"get_weather", "get_time"}),
        ({"type": "function", "function": {"name": "get_time"}}, {"get_time"}),
    ):
        completion = open_client.chat.completions.create(
            model="x",
            messages=[{"role": "user", "content": "What is the weather in Paris?"}],
            tools=[WEATHER_TOOL, TIME_TOOL],
            tool_choice=tool_choice,
            temperature=1.0,
            seed=7,
            max_tokens=80,
        )
        choice = completion.choices[0]
        assert choice.finish_reason == "tool_calls" and choice.message.content is None
        call = choice.message.tool_calls[0]
        assert call.id.startswith("call_") and call.type == "function" and call.function.name in expected
        arguments = json.loads(call.function.arguments)
        schema = (WEATHER_TOOL if call.function.name == "get_weather" else TIME_TOOL)["function"]["parameters"]
        jsonschema.validate(arguments, schema)

    reply = open_client.chat.completions.create(
        model="x",
        temperature=0,
        max_tokens=12,
        tools=[WEATHER_TOOL, TIME_TOOL],
        messages=[
            {"role": "user", "content": "What is the weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": json.dumps({"result": "sunny, 21C"})},
        ],
        tool_choice="none",
    )
    assert reply.choices[0].finish_reason in ("stop", "length") and isinstance(reply.choices[0].message.content, str)


def test_streamed_tool_call(open_client: openai.OpenAI) -> None:
    chunks = list(
        open_client.chat.completions.create(
            model="x",
            messages=[{"role": "user", "content": "time?"}],
            tools=[TIME_TOOL],
            tool_choice="required",
            temperature=1.0,
            seed=1,
            max_tokens=60,
            stream=True,
        )
    )
    deltas = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert (
        deltas and deltas[0].index == 0 and deltas[0].id.startswith("call_") and deltas[0].function.name == "get_time"
    )
    assert json.loads("".join(d.function.arguments or "" for d in deltas))["zone"] in ("utc", "local")
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_key_auth(keyed: tuple[str, str]) -> None:
    url, key = keyed
    ok = openai.OpenAI(base_url=url, api_key=key, max_retries=0)
    assert ok.chat.completions.create(model="x", messages=MESSAGES, max_tokens=2).choices[0].message.role == "assistant"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=url, api_key="ark_live_wrong", max_retries=0).chat.completions.create(
            model="x", messages=MESSAGES, max_tokens=2
        )
    missing = httpx.post(f"{url}/chat/completions", json={"messages": MESSAGES, "max_tokens": 2})
    assert missing.status_code == 401 and missing.json()["error"]["type"] == "authentication_error"
    via_header = httpx.post(
        f"{url}/chat/completions", json={"messages": MESSAGES, "max_tokens": 2}, headers={"x-api-key": key}, timeout=60
    )
    assert via_header.status_code == 200 and via_header.json()["object"] == "chat.completion"
    assert httpx.get(f"{url}/models", headers={"x-api-key": key}).json()["data"][0]["id"] == "tiny-keyed"


def test_revoked_key_and_disabled_endpoint(served: Served) -> None:
    api = served.api
    dep = api.create_deployment("tiny-toggle", {"kind": "base_model", "baseModel": "arkor/tiny-test"}, "fixed_api_key")
    dep_id = dep.json()["deployment"]["id"]
    key = api.http.post(f"/v1/endpoints/{dep_id}/keys", params=api.scope, json={"label": "k"}).json()["key"]
    client = openai.OpenAI(base_url=f"{served.server.url}/d/tiny-toggle/v1", api_key=key["plaintext"], max_retries=0)
    assert client.chat.completions.create(model="x", messages=MESSAGES, max_tokens=2).choices
    api.http.patch(f"/v1/endpoints/{dep_id}", params=api.scope, json={"enabled": False})
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="x", messages=MESSAGES, max_tokens=2)
    api.http.patch(f"/v1/endpoints/{dep_id}", params=api.scope, json={"enabled": True})
    api.http.delete(f"/v1/endpoints/{dep_id}/keys/{key['id']}", params=api.scope)
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="x", messages=MESSAGES, max_tokens=2)
    with pytest.raises(openai.NotFoundError):
        openai.OpenAI(base_url=f"{served.server.url}/d/no-such-slug/v1", api_key="k", max_retries=0).models.list()

"""Tool calling: tool_choice validation, call parsing, and forced calls on the tiny model."""

from __future__ import annotations

import json

import pytest

from arkor.engine.infer import InferenceEngine
from arkor.engine.infer.tools import parse_tool_calls, plan_tools
from arkor.engine.models import TINY_TEST_MODEL
from arkor.errors import ConfigError
from arkor.protocol.inference import InferenceChatRequest

WEATHER = {
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
TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"zone": {"enum": ["utc", "local"]}}, "required": ["zone"]},
    },
}


def chat(**fields) -> InferenceChatRequest:
    fields.setdefault("temperature", 0)
    fields.setdefault("max_tokens", 60)
    return InferenceChatRequest.model_validate(
        {"messages": [{"role": "user", "content": "Weather in Paris?"}], **fields}
    )


def test_plan_modes():
    assert plan_tools(chat()).mode == "none"
    assert plan_tools(chat(tools=[WEATHER], tool_choice="none")).mode == "none"
    assert plan_tools(chat(tools=[WEATHER])).mode == "auto"
    forced = plan_tools(chat(tools=[WEATHER, TIME], tool_choice={"type": "function", "function": {"name": "get_time"}}))
    assert forced.mode == "forced" and forced.names == {"get_time"} and forced.grammar is not None
    assert plan_tools(chat(tools=[WEATHER, TIME], tool_choice="required")).names == {"get_weather", "get_time"}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tool_choice": "required"}, "tool_choice needs tools"),
        ({"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "not in tools"),
        ({"tools": [WEATHER, WEATHER]}, "duplicate"),
        ({"tools": [WEATHER], "tool_choice": "required", "structured_outputs": {"regex": "a"}}, "cannot be combined"),
    ],
)
def test_bad_tool_requests_are_config_errors(fields, message):
    with pytest.raises(ConfigError, match=message):
        plan_tools(chat(**fields))


def test_parse_bare_and_tagged_calls():
    plan = plan_tools(chat(tools=[WEATHER, TIME]))
    bare = parse_tool_calls('{"name": "get_time", "arguments": {"zone": "utc"}}', plan)
    assert bare[0].function.name == "get_time" and json.loads(bare[0].function.arguments) == {"zone": "utc"}
    assert bare[0].id.startswith("call_")
    tagged = parse_tool_calls(
        '<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo", "unit": "c"}}'
        '</tool_call>\n<tool_call>{"name": "get_time", "arguments": {}}</tool_call>',
        plan,
    )
    assert [c.function.name for c in tagged] == ["get_weather", "get_time"]
    assert parse_tool_calls("It is sunny.", plan) is None
    assert parse_tool_calls('{"name": "unknown_tool", "arguments": {}}', plan) is None


@pytest.fixture(scope="module")
def engine():
    return InferenceEngine()


def test_forced_tool_call_parses_every_time(engine):
    request = chat(tools=[WEATHER, TIME], tool_choice="required", temperature=1.0)
    for seed in range(3):
        completion = engine.complete(request.model_copy(update={"seed": seed}), model_id=TINY_TEST_MODEL)
        choice = completion.choices[0]
        assert choice.finish_reason == "tool_calls" and choice.message.content is None
        call = choice.message.tool_calls[0]
        arguments = json.loads(call.function.arguments)
        if call.function.name == "get_weather":
            assert set(arguments) == {"city", "unit"} and arguments["unit"] in ("c", "f")
        else:
            assert call.function.name == "get_time" and arguments["zone"] in ("utc", "local")


def test_named_tool_call_streams_as_one_tool_calls_delta(engine):
    request = chat(tools=[WEATHER, TIME], tool_choice={"type": "function", "function": {"name": "get_time"}})
    chunks = list(engine.stream(request, model_id=TINY_TEST_MODEL))
    assert chunks[0].choices[0].delta.role == "assistant"
    deltas = [c.choices[0].delta.tool_calls for c in chunks if c.choices[0].delta.tool_calls]
    assert len(deltas) == 1 and deltas[0][0]["function"]["name"] == "get_time"
    assert deltas[0][0]["index"] == 0 and deltas[0][0]["id"].startswith("call_")
    assert json.loads(deltas[0][0]["function"]["arguments"])["zone"] in ("utc", "local")
    assert chunks[-1].choices[0].finish_reason == "tool_calls" and chunks[-1].usage is not None


def test_auto_tools_with_a_plain_reply_is_content(engine):
    completion = engine.complete(chat(tools=[WEATHER], max_tokens=12), model_id=TINY_TEST_MODEL)
    assert completion.choices[0].message.content  # the tiny model's gibberish is not a call
    assert completion.choices[0].message.tool_calls is None
    assert completion.choices[0].finish_reason == "length"


def test_tool_round_trip_history_renders(engine):
    history = [
        {"role": "user", "content": "Weather in Oslo?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Oslo", "unit": "c"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 3}'},
    ]
    request = InferenceChatRequest.model_validate(
        {"messages": history, "tools": [WEATHER], "temperature": 0, "max_tokens": 8}
    )
    completion = engine.complete(request, model_id=TINY_TEST_MODEL)
    assert completion.usage.prompt_tokens > 0 and completion.choices[0].finish_reason in ("length", "stop")

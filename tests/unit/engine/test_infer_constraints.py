"""Structured-output validation (reference 1.5 rules) and grammar construction; no model needed."""

from __future__ import annotations

import pytest

from arkor.engine.infer.constraints import resolve_grammar
from arkor.errors import ConfigError
from arkor.protocol.inference import InferenceChatRequest

MESSAGES = [{"role": "user", "content": "hi"}]


def request(**fields) -> InferenceChatRequest:
    return InferenceChatRequest.model_validate({"messages": MESSAGES, **fields})


def test_no_constraint_and_text_format_give_free_text():
    assert resolve_grammar(request()) is None
    assert resolve_grammar(request(responseFormat={"type": "text"})) is None


@pytest.mark.parametrize(
    ("structured", "kind"),
    [
        ({"json": {"type": "object", "properties": {"a": {"type": "integer"}}}}, "json"),
        ({"json": '{"type": "string"}'}, "json"),
        ({"regex": "[a-z]{3}"}, "regex"),
        ({"choice": ["yes", "no"]}, "choice"),
        ({"grammar": 'start: "a" | "b"'}, "grammar"),
        ({"json_object": True}, "json_object"),
    ],
)
def test_each_structured_kind_resolves(structured, kind):
    spec = resolve_grammar(request(structuredOutputs=structured))
    assert spec is not None and spec.kind == kind and spec.grammar


def test_response_formats_resolve():
    assert resolve_grammar(request(responseFormat={"type": "json_object"})).kind == "json_object"
    spec = resolve_grammar(
        request(
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": {"type": "object"}, "strict": True},
            }
        )
    )
    assert spec.kind == "json" and spec.field == "response_format.json_schema.schema"


def test_zero_structured_constraints_is_an_error():
    with pytest.raises(ConfigError, match=r"exactly one of .*\(found: none\)") as info:
        resolve_grammar(request(structuredOutputs={"disable_any_whitespace": True}))
    assert info.value.field == "structured_outputs"


def test_two_structured_constraints_is_an_error():
    with pytest.raises(ConfigError, match="found: regex, choice"):
        resolve_grammar(request(structuredOutputs={"regex": "a", "choice": ["a"]}))


def test_structured_outputs_with_a_response_format_constraint_is_an_error():
    with pytest.raises(ConfigError, match="not both"):
        resolve_grammar(request(responseFormat={"type": "json_object"}, structuredOutputs={"regex": "a"}))


def test_json_schema_format_without_schema_is_an_error():
    with pytest.raises(ConfigError, match="schema is required"):
        resolve_grammar(request(responseFormat={"type": "json_schema", "json_schema": {"name": "x"}}))


@pytest.mark.parametrize(
    ("structured", "field"),
    [
        ({"regex": "a(b"}, "structured_outputs.regex"),
        ({"json": "{not json"}, "structured_outputs.json"),
        ({"choice": []}, "structured_outputs.choice"),
        ({"grammar": "start: ((("}, "structured_outputs.grammar"),
    ],
)
def test_invalid_constraints_name_the_field(structured, field):
    with pytest.raises(ConfigError) as info:
        resolve_grammar(request(structuredOutputs=structured))
    assert info.value.field == field
    assert field in str(info.value)

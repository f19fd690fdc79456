"""Tool calling: how tools reach the prompt, how `tool_choice` constrains the output, and how the
model's text becomes OpenAI `tool_calls`.

- `tool_choice` "none" (or no tools): plain chat; tools are not shown to the model.
- "required" / a named function: the output is constrained (JSON schema grammar) to one call
  `{"name": ..., "arguments": {...}}` of an allowed tool, so the call always parses.
- "auto" (the default when tools are given): the model answers freely; a reply that is a call
  (a bare JSON object, or `<tool_call>{...}</tool_call>` as Hermes/Qwen-style templates emit) naming
  a known tool becomes `tool_calls`, anything else is content.
Chat templates that render `tools` themselves get them; for templates that ignore them (SmolLM2's,
Gemma's) a system message lists the tools and the JSON call format.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from arkor.errors import ConfigError
from arkor.protocol.inference import FunctionCall, InferenceChatRequest, NamedToolChoice, ToolCall

from .constraints import GrammarSpec, _check, _json_schema_grammar

_TAGGED_CALL = re.compile(r"<tool_call>\s*(\{.*?\})\s*</tool_call>", re.DOTALL)


@dataclass(frozen=True)
class ToolPlan:
    mode: Literal["none", "auto", "forced"]
    tools: list[dict[str, Any]]  # OpenAI tool definitions, as dicts
    grammar: GrammarSpec | None = None

    @property
    def names(self) -> set[str]:
        return {t["function"]["name"] for t in self.tools}


def _call_schema(tool: dict[str, Any]) -> dict[str, Any]:
    parameters = tool["function"].get("parameters") or {"type": "object"}
    return {
        "type": "object",
        "properties": {"name": {"const": tool["function"]["name"]}, "arguments": parameters},
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }


def plan_tools(request: InferenceChatRequest) -> ToolPlan:
    """Validate tools / tool_choice and decide how this request handles them."""
    tools = [t.to_wire() for t in request.tools or []]
    choice = request.tool_choice
    if not tools:
        if choice not in (None, "none"):
            raise ConfigError("tool_choice needs tools; add tools or drop tool_choice.", field="tool_choice")
        return ToolPlan("none", [])
    if choice == "none":
        return ToolPlan("none", [])
    names = [t["function"]["name"] for t in tools]
    if len(set(names)) != len(names):
        raise ConfigError(f"tools has duplicate function names: {names}", field="tools")
    if choice is None or choice == "auto":
        return ToolPlan("auto", tools)
    if (request.response_format is not None and request.response_format.type != "text") or request.structured_outputs:
        raise ConfigError(
            "A forced tool call cannot be combined with response_format or structured_outputs.", field="tool_choice"
        )
    if isinstance(choice, NamedToolChoice):
        wanted = choice.function.get("name")
        allowed = [t for t in tools if t["function"]["name"] == wanted]
        if not allowed:
            raise ConfigError(
                f"tool_choice names {wanted!r}, which is not in tools ({', '.join(names)}).", field="tool_choice"
            )
    else:  # "required"
        allowed = tools
    schemas = [_call_schema(t) for t in allowed]
    schema = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
    # Compact JSON with only the declared argument names: the call is re-serialised anyway, and free
    # whitespace or open-ended extra keys let a weak model spend its whole token budget before closing it.
    grammar = _check(
        GrammarSpec(
            "json",
            _json_schema_grammar(schema, "tools", whitespace_flexible=False, no_additional_properties=True),
            "tools",
        )
    )
    return ToolPlan("forced", allowed, grammar)


def _tools_system_text(tools: list[dict[str, Any]]) -> str:
    listing = "\n".join(json.dumps(t["function"], separators=(",", ":")) for t in tools)
    return (
        "You can call these functions:\n" + listing + "\n"
        'To call one, reply with only a JSON object: {"name": <function name>, "arguments": {...}}.'
    )


def template_renders_tools(tokenizer, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> bool:
    """Whether the chat template shows `tools` itself (rendering changes when they are passed)."""
    try:
        plain = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        with_tools = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, tools=tools)
    except Exception:  # a template that rejects the tools kwarg does not render them
        return False
    return plain != with_tools


def prepare_messages(
    tokenizer, messages: list[dict[str, Any]], plan: ToolPlan
) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """Messages (and the `tools` kwarg) for the chat template, given the tool plan."""
    messages = [_flatten_tool_calls(m) for m in messages]
    if plan.mode == "none":
        return messages, None
    if template_renders_tools(tokenizer, messages, plan.tools):
        return messages, plan.tools
    text = _tools_system_text(plan.tools)
    if messages and messages[0]["role"] == "system":
        first = dict(messages[0], content=messages[0]["content"] + "\n\n" + text)
        return [first, *messages[1:]], None
    return [{"role": "system", "content": text}, *messages], None


def _flatten_tool_calls(message: dict[str, Any]) -> dict[str, Any]:
    """An assistant turn that made calls, as text templates without tool support can render."""
    if message.get("tool_calls") and not message.get("content"):
        calls = [
            {"name": c["function"]["name"], "arguments": json.loads(c["function"]["arguments"] or "{}")}
            for c in message["tool_calls"]
        ]
        return dict(message, content=json.dumps(calls[0] if len(calls) == 1 else calls))
    return message


def _as_call(value: Any, names: set[str]) -> ToolCall | None:
    if not isinstance(value, dict) or value.get("name") not in names:
        return None
    arguments = value.get("arguments", value.get("parameters", {}))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError:
            return None
    return ToolCall(
        id="call_" + secrets.token_hex(12), function=FunctionCall(name=value["name"], arguments=json.dumps(arguments))
    )


def parse_tool_calls(text: str, plan: ToolPlan) -> list[ToolCall] | None:
    """The tool calls in a reply, or None when the reply is ordinary content."""
    if plan.mode == "none":
        return None
    names = plan.names
    tagged = _TAGGED_CALL.findall(text)
    candidates: list[Any] = []
    try:
        if tagged:
            candidates = [json.loads(t) for t in tagged]
        else:
            value = json.loads(text.strip())
            candidates = value if isinstance(value, list) else [value]
    except json.JSONDecodeError:
        return None
    calls = [_as_call(c, names) for c in candidates]
    if not calls or any(c is None for c in calls):
        return None
    return calls  # type: ignore[return-value]

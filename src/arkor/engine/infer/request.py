"""Turns an `InferenceChatRequest` into what the token loop needs: prompt token ids and
`SamplingSettings`. Pure apart from the tokenizer; raises `ConfigError` naming the field.
"""

from __future__ import annotations

from typing import Any

from arkor.errors import ConfigError
from arkor.protocol.inference import ChatMessage, InferenceChatRequest

from .generate import SamplingSettings

DEFAULT_MAX_TOKENS = 256
DEFAULT_TEMPERATURE = 1.0  # OpenAI's default; pass 0 for greedy, reproducible output
DEFAULT_TOP_P = 1.0


def message_to_template_dict(message: ChatMessage) -> dict[str, Any]:
    """A message as chat templates expect it: role and plain-text content, plus tool fields."""
    role = "system" if message.role == "developer" else message.role
    item: dict[str, Any] = {"role": role, "content": message.text()}
    if message.tool_calls:
        item["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.function.name, "arguments": c.function.arguments}}
            for c in message.tool_calls
        ]
    if message.tool_call_id:
        item["tool_call_id"] = message.tool_call_id
    if message.name:
        item["name"] = message.name
    return item


def build_prompt_ids(tokenizer, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> list[int]:
    """Render the conversation with the model's chat template and an open assistant turn."""
    if not getattr(tokenizer, "chat_template", None):
        raise ConfigError("This model has no chat template, so chat messages cannot be rendered.", field="messages")
    kwargs: dict[str, Any] = {}
    if tools:
        kwargs["tools"] = tools
    try:
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **kwargs)
    except Exception as exc:  # jinja raises its own errors for messages a template rejects
        raise ConfigError(f"The model's chat template rejected the messages: {exc}", field="messages") from exc
    # The template already wrote any BOS it wants; adding special tokens again would double it.
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def stop_token_ids(tokenizer, model, stop_tokens: list[str]) -> frozenset[int]:
    """End-of-sequence plus the model's end-of-turn tokens, as ids."""
    ids: set[int] = set()
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    generation_config = getattr(model, "generation_config", None)
    configured = getattr(generation_config, "eos_token_id", None)
    if isinstance(configured, int):
        ids.add(configured)
    elif isinstance(configured, (list, tuple)):
        ids.update(int(i) for i in configured)
    unk = tokenizer.unk_token_id
    for token in stop_tokens:
        token_id = tokenizer.convert_tokens_to_ids(token)
        if isinstance(token_id, int) and token_id != unk and token_id >= 0:
            ids.add(token_id)
    return frozenset(ids)


def normalise_stop(stop: str | list[str] | None) -> tuple[str, ...]:
    if stop is None:
        return ()
    items = [stop] if isinstance(stop, str) else list(stop)
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise ConfigError(f"stop[{index}] must be a string, got {item!r}", field="stop")
    return tuple(s for s in items if s)


def sampling_settings(
    request: InferenceChatRequest,
    *,
    prompt_length: int,
    context_length: int | None,
    stop_ids: frozenset[int],
    default_max_tokens: int = DEFAULT_MAX_TOKENS,
) -> SamplingSettings:
    """The request's sampling knobs with defaults, and max_tokens capped by the context window."""
    max_new = request.max_tokens if request.max_tokens is not None else default_max_tokens
    if context_length:
        room = context_length - prompt_length
        if room <= 0:
            raise ConfigError(
                f"The prompt is {prompt_length} tokens but the model's context is {context_length}; "
                "shorten the messages.",
                field="messages",
            )
        max_new = min(max_new, room)
    return SamplingSettings(
        max_new_tokens=max_new,
        temperature=DEFAULT_TEMPERATURE if request.temperature is None else float(request.temperature),
        top_p=DEFAULT_TOP_P if request.top_p is None else float(request.top_p),
        seed=request.seed,
        stop_strings=normalise_stop(request.stop),
        stop_token_ids=stop_ids,
    )

"""Builds the OpenAI-shaped replies (`ChatCompletion`, `ChatCompletionChunk`) from generation results.

Only the wire models of `arkor.protocol.inference` are used; this module decides ids, timestamps
and the chunk sequence: a first chunk carrying the assistant role, content deltas, then a final
chunk with `finish_reason` and `usage`.
"""

from __future__ import annotations

import secrets
import time

from arkor.protocol.inference import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    ChoiceDelta,
    ChunkChoice,
    CompletionFinishReason,
    ToolCall,
    Usage,
)


def new_completion_id() -> str:
    """An id in OpenAI's style: `chatcmpl-` and 24 random hex characters."""
    return "chatcmpl-" + secrets.token_hex(12)


def make_usage(prompt_tokens: int, completion_tokens: int) -> Usage:
    return Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=prompt_tokens + completion_tokens,
    )


class ChunkBuilder:
    """Makes the chunks of one streamed completion, all sharing id, created and model."""

    def __init__(self, model: str, completion_id: str | None = None, created: int | None = None) -> None:
        self.id = completion_id or new_completion_id()
        self.created = created if created is not None else int(time.time())
        self.model = model

    def _chunk(
        self, delta: ChoiceDelta, finish_reason: CompletionFinishReason | None = None, usage: Usage | None = None
    ) -> ChatCompletionChunk:
        return ChatCompletionChunk(
            id=self.id,
            created=self.created,
            model=self.model,
            choices=[ChunkChoice(index=0, delta=delta, finish_reason=finish_reason)],
            usage=usage,
        )

    def role(self) -> ChatCompletionChunk:
        return self._chunk(ChoiceDelta(role="assistant", content=""))

    def content(self, text: str) -> ChatCompletionChunk:
        return self._chunk(ChoiceDelta(content=text))

    def tool_calls(self, calls: list[ToolCall]) -> ChatCompletionChunk:
        deltas = [{"index": i, **call.to_wire()} for i, call in enumerate(calls)]
        return self._chunk(ChoiceDelta(tool_calls=deltas))

    def finish(self, finish_reason: CompletionFinishReason, usage: Usage) -> ChatCompletionChunk:
        return self._chunk(ChoiceDelta(), finish_reason=finish_reason, usage=usage)


def make_completion(
    *,
    model: str,
    content: str | None,
    finish_reason: CompletionFinishReason,
    usage: Usage,
    tool_calls: list[ToolCall] | None = None,
    completion_id: str | None = None,
    created: int | None = None,
) -> ChatCompletion:
    return ChatCompletion(
        id=completion_id or new_completion_id(),
        created=created if created is not None else int(time.time()),
        model=model,
        choices=[
            Choice(
                index=0,
                message=AssistantMessage(content=content, tool_calls=tool_calls or None),
                finish_reason=finish_reason,
            )
        ],
        usage=usage,
    )

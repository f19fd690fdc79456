"""Chat inference: the backend's `POST /v1/inference/chat` body and OpenAI-shaped replies.

Messages, tools, response formats and completions keep OpenAI's snake_case
wire names (they are OpenAI's shapes); the request envelope is camelCase like
the rest of the arkor API, and also accepts the snake_case spelling.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ._base import WireModel


class OpenAIModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class FunctionCall(OpenAIModel):
    name: str
    arguments: str


class ToolCall(OpenAIModel):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(OpenAIModel):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None

    def text(self) -> str:
        """The message's text, joining content parts of type text."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")


class FunctionDefinition(OpenAIModel):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolDefinition(OpenAIModel):
    type: Literal["function"] = "function"
    function: FunctionDefinition


class NamedToolChoice(OpenAIModel):
    type: Literal["function"] = "function"
    function: dict[str, str]


ToolChoice = Literal["auto", "none", "required"] | NamedToolChoice


class JsonSchemaSpec(OpenAIModel):
    name: str = "response"
    description: str | None = None
    schema_: dict[str, Any] = Field(default_factory=dict, alias="schema")
    strict: bool | None = None


class ResponseFormat(OpenAIModel):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaSpec | None = None


class StructuredOutputs(OpenAIModel):
    """vLLM-style constraints: exactly one of json, regex, choice, grammar, json_object."""

    json_: dict[str, Any] | str | None = Field(default=None, alias="json")
    regex: str | None = None
    choice: list[str] | None = None
    grammar: str | None = None
    json_object: bool | None = None
    disable_any_whitespace: bool | None = None
    disable_additional_properties: bool | None = None
    whitespace_pattern: str | None = None

    def constraint_kinds(self) -> list[str]:
        kinds = []
        if self.json_ is not None:
            kinds.append("json")
        for name in ("regex", "choice", "grammar"):
            if getattr(self, name) is not None:
                kinds.append(name)
        if self.json_object:
            kinds.append("json_object")
        return kinds


class AdapterRef(WireModel):
    """Which trained adapter to chat with: a job's final adapter or one checkpoint."""

    kind: Literal["final", "checkpoint"]
    job_id: str
    step: int | None = None

    @model_validator(mode="after")
    def _step_for_checkpoint(self) -> AdapterRef:
        if self.kind == "checkpoint" and self.step is None:
            raise ValueError("adapter.step is required when adapter.kind is 'checkpoint'")
        return self


class InferenceChatRequest(WireModel):
    messages: list[ChatMessage] = Field(min_length=1)
    adapter: AdapterRef | None = None
    base_model: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=5)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int | None = Field(default=None, gt=0, le=32768)
    stream: bool = True
    stop: str | list[str] | None = None
    seed: int | None = None
    tools: list[ToolDefinition] | None = None
    tool_choice: ToolChoice | None = None
    response_format: ResponseFormat | None = None
    structured_outputs: StructuredOutputs | None = None


class Usage(OpenAIModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AssistantMessage(OpenAIModel):
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    tool_calls: list[ToolCall] | None = None


CompletionFinishReason = Literal["stop", "length", "tool_calls"]
"""Why a completion ended, as the client reads it: a stop token, the token limit, or tool calls."""


class Choice(OpenAIModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: CompletionFinishReason | None = None


class ChatCompletion(OpenAIModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage | None = None


class ChoiceDelta(OpenAIModel):
    role: Literal["assistant"] | None = None
    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class ChunkChoice(OpenAIModel):
    index: int = 0
    delta: ChoiceDelta
    finish_reason: CompletionFinishReason | None = None


class ChatCompletionChunk(OpenAIModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None


class ModelCard(OpenAIModel):
    """One entry of OpenAI's `GET /v1/models` list (a deployment serves exactly one: its slug)."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str
    root: str


class ModelList(OpenAIModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class OpenAIErrorDetail(OpenAIModel):
    message: str
    type: str
    code: str | None = None
    param: str | None = None


class OpenAIErrorBody(OpenAIModel):
    """OpenAI's error envelope, which the deployments' `/d/<slug>/v1` routes answer with (nulls included)."""

    error: OpenAIErrorDetail

"""Deployments served as OpenAI-compatible APIs: `/d/<slug>/v1/chat/completions` and `/d/<slug>/v1/models`.

The official `openai` client pointed at `http://HOST/d/<slug>/v1` works unchanged: the request is
OpenAI's snake_case Chat Completions body (`model` is ignored; `max_completion_tokens` is an alias of
`max_tokens`; vLLM's `structured_outputs` is accepted as an extra field), replies name the model as
the endpoint (its slug, the one id `/v1/models` lists), never the base model behind it, `stream: true` answers SSE
`data: <chunk>` frames ending with `data: [DONE]`, and errors use OpenAI's envelope
`{"error": {"message", "type", "code", "param"}}` so clients raise their usual exception classes.
Unknown or disabled deployments are 404; a `fixed_api_key` deployment needs an enabled key in
`Authorization: Bearer <key>` or `x-api-key` (401 otherwise). These routes need no `X-Arkor-Client`.
"""

from __future__ import annotations

import calendar
import json
import time
from collections.abc import Iterator
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError

from arkor.errors import ArkorError, ConfigError, ModelNotAvailableError
from arkor.protocol import ChatCompletion, InferenceChatRequest
from arkor.protocol.inference import ModelCard, ModelList, OpenAIErrorBody, OpenAIErrorDetail

from .. import deployments as store
from ..deps import EngineDep, ServicesDep
from ..errors import describe_validation_errors
from ..inference_service import SSE_HEADERS, sse_stream
from ..wire import wire

router = APIRouter(tags=["serving"])

# OpenAI request fields we honour; anything else (user, logprobs, ...) is ignored like `model`.
_PASSED_FIELDS = (
    "messages",
    "temperature",
    "top_p",
    "max_tokens",
    "stream",
    "stop",
    "seed",
    "tools",
    "tool_choice",
    "response_format",
    "structured_outputs",
)


class OpenAIError(Exception):
    def __init__(
        self, status: int, message: str, error_type: str, code: str | None = None, param: str | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.error_type, self.code, self.param = status, message, error_type, code, param

    def response(self) -> JSONResponse:
        body = OpenAIErrorBody(
            error=OpenAIErrorDetail(message=self.message, type=self.error_type, code=self.code, param=self.param)
        )
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return JSONResponse(body.model_dump(mode="json"), status_code=self.status, headers=headers)


def _presented_key(request: Request) -> str | None:
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer ") and authorization[7:].strip():
        return authorization[7:].strip()
    return request.headers.get("x-api-key") or None


def _authorised_deployment(services: Any, slug: str, request: Request):  # type: ignore[no-untyped-def]
    row = store.find_by_slug(services, slug)
    if row is None or not row.enabled:
        raise OpenAIError(404, f"No enabled deployment named `{slug}`.", "not_found_error", "deployment_not_found")
    if row.auth_mode == "fixed_api_key":
        key = _presented_key(request)
        if key is None:
            raise OpenAIError(
                401,
                "Missing API key: send `Authorization: Bearer <key>` or `x-api-key: <key>`.",
                "authentication_error",
                "missing_api_key",
            )
        if not store.key_is_valid(services, row.id, key):
            raise OpenAIError(401, "Invalid or revoked API key.", "authentication_error", "invalid_api_key")
    return row


def chat_request_from_openai(body: Any) -> InferenceChatRequest:
    """An `InferenceChatRequest` from an OpenAI Chat Completions body (raises OpenAIError 400)."""
    if not isinstance(body, dict):
        raise OpenAIError(400, "The request body must be a JSON object.", "invalid_request_error", "invalid_body")
    if body.get("n") not in (None, 1):
        raise OpenAIError(400, "Only n=1 is supported.", "invalid_request_error", "unsupported_value", "n")
    fields = {name: body[name] for name in _PASSED_FIELDS if body.get(name) is not None}
    if body.get("max_completion_tokens") is not None:
        fields["max_tokens"] = body["max_completion_tokens"]
    fields.setdefault("stream", False)  # OpenAI's default, unlike /v1/inference/chat
    try:
        return InferenceChatRequest.model_validate(fields)
    except ValidationError as exc:
        summary, _ = describe_validation_errors(exc.errors())
        raise OpenAIError(400, summary, "invalid_request_error", "invalid_request") from None


def _engine_error(exc: Exception) -> OpenAIError:
    if isinstance(exc, ModelNotAvailableError):
        return OpenAIError(503, str(exc), "server_error", "model_not_available")
    if isinstance(exc, (ConfigError, ValueError)):
        return OpenAIError(400, str(exc), "invalid_request_error", "invalid_request", getattr(exc, "field", None))
    return OpenAIError(500, f"Inference failed: {exc}", "server_error", "inference_failed")


def _named(chunks: Iterator[Any], name: str) -> Iterator[Any]:
    """The engine's chunks under the endpoint's name (closing this closes the engine's generator,
    which releases the model's lock)."""
    try:
        for chunk in chunks:
            yield chunk.model_copy(update={"model": name})
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


_OPENAI_ERRORS: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "model": OpenAIErrorBody,
        "description": "OpenAI's error envelope: 400 an invalid request, 401 a missing "
        "or invalid API key, 404 no enabled deployment of that slug (or its target is gone)",
    },
    503: {"model": OpenAIErrorBody, "description": "The deployment's model is not available on this backend"},
}


@router.post(
    "/d/{slug}/v1/chat/completions",
    summary="OpenAI Chat Completions for a deployment (SSE when stream=true)",
    response_model=ChatCompletion,
    responses={
        200: {
            "content": {
                "text/event-stream": {
                    "schema": {
                        "type": "string",
                        "description": "`data: <ChatCompletionChunk>` frames, then `data: [DONE]`",
                    }
                }
            }
        },
        **_OPENAI_ERRORS,
    },
)
async def chat_completions(services: ServicesDep, engine: EngineDep, slug: str, request: Request) -> Any:
    try:
        row = await anyio.to_thread.run_sync(_authorised_deployment, services, slug, request)
        try:
            body = json.loads(await request.body() or b"null")
        except json.JSONDecodeError as exc:
            raise OpenAIError(
                400, f"The request body is not valid JSON: {exc}", "invalid_request_error", "invalid_json"
            ) from None
        chat = chat_request_from_openai(body)
        try:
            target = await anyio.to_thread.run_sync(store.serving_target, services, row)
        except LookupError as exc:
            raise OpenAIError(404, str(exc), "not_found_error", "target_not_found") from None
        try:
            if not chat.stream:
                completion = await services.pools.run(
                    "inference", lambda: engine.complete(chat, model_id=target.model_id, adapter_dir=target.adapter_dir)
                )
                return JSONResponse(completion.model_copy(update={"model": row.slug}).to_wire())
            chunks = _named(
                await services.pools.run(
                    "inference", lambda: engine.stream(chat, model_id=target.model_id, adapter_dir=target.adapter_dir)
                ),
                row.slug,
            )
        except (ArkorError, ValueError) as exc:
            raise _engine_error(exc) from None
    except OpenAIError as error:
        return error.response()
    return StreamingResponse(sse_stream(chunks, services.pools), media_type="text/event-stream", headers=SSE_HEADERS)


@router.get(
    "/d/{slug}/v1/models",
    summary="The one model a deployment serves, in OpenAI's list shape",
    response_model=ModelList,
    responses={"4XX": _OPENAI_ERRORS["4XX"]},
)
async def list_models(services: ServicesDep, slug: str, request: Request) -> Any:
    try:
        row = await anyio.to_thread.run_sync(_authorised_deployment, services, slug, request)
    except OpenAIError as error:
        return error.response()
    created = int(calendar.timegm(time.strptime(row.created_at[:19], "%Y-%m-%dT%H:%M:%S")))
    target = row.target
    base = target.get("baseModel") if target.get("kind") == "base_model" else None
    return wire(ModelList(data=[ModelCard(id=row.slug, created=created, owned_by="arkor", root=base or row.slug)]))

"""`POST /v1/inference/chat`: chat with a base model, a job's final adapter or one of its checkpoints.

The app's engine (`Services.engine`) generates in a thread; a streaming reply is SSE
`data: <chat.completion.chunk>` frames ending with `data: [DONE]`. Adapters of another org's (or
project's) job, and missing checkpoints, are 404.
"""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter
from fastapi.responses import JSONResponse, StreamingResponse

from arkor.errors import ArkorError, ConfigError, ModelNotAvailableError
from arkor.protocol import ChatCompletion, InferenceChatRequest

from ..deps import EngineDep, ScopeDep, ServicesDep
from ..errors import V1_RESPONSES, ApiError
from ..inference_service import SSE_HEADERS, resolve_target, sse_stream

router = APIRouter(tags=["inference"], responses=V1_RESPONSES)


def _engine_error(exc: Exception) -> ApiError:
    if isinstance(exc, ModelNotAvailableError):
        return ApiError(400, str(exc), code="model_not_available", param="baseModel")
    if isinstance(exc, (ConfigError, ValueError)):
        return ApiError(400, str(exc), code="invalid_request", param=getattr(exc, "field", None))
    return ApiError(500, f"inference failed: {exc}", code="inference_failed")


@router.post(
    "/v1/inference/chat",
    summary="Chat completion (SSE when stream=true, else JSON)",
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
        }
    },
)
async def chat(services: ServicesDep, scope: ScopeDep, engine: EngineDep, request: InferenceChatRequest) -> Any:
    model_id, adapter_dir = await anyio.to_thread.run_sync(resolve_target, services, scope, request)
    if not request.stream:
        try:
            completion = await services.pools.run(
                "inference", lambda: engine.complete(request, model_id=model_id, adapter_dir=adapter_dir)
            )
        except (ArkorError, ValueError) as exc:
            raise _engine_error(exc) from None
        return JSONResponse(completion.to_wire())
    try:
        chunks = await services.pools.run(
            "inference", lambda: engine.stream(request, model_id=model_id, adapter_dir=adapter_dir)
        )
    except (ArkorError, ValueError) as exc:
        raise _engine_error(exc) from None
    return StreamingResponse(sse_stream(chunks, services.pools), media_type="text/event-stream", headers=SSE_HEADERS)

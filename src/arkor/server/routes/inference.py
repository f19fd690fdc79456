"""`POST /v1/inference/chat`: chat with a base model, a job's final adapter or one of its checkpoints.

The engine (`arkor.engine.infer`, imported lazily so the backend starts without torch) generates in a
thread; a streaming reply is SSE `data: <chat.completion.chunk>` frames ending with `data: [DONE]`.
Adapters of another org's (or project's) job, and missing checkpoints, are 404.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import anyio
from fastapi import APIRouter
from fastapi.responses import JSONResponse, StreamingResponse

from arkor.errors import ArkorError, ConfigError, ModelNotAvailableError
from arkor.protocol import InferenceChatRequest, JobConfig

from ..deps import ScopeDep, ServicesDep, load_job
from ..errors import ApiError, not_found
from .artifacts import artifact_root

logger = logging.getLogger(__name__)
router = APIRouter(tags=["inference"])


def resolve_target(services, scope, request: InferenceChatRequest) -> tuple[str, Path | None]:  # type: ignore[no-untyped-def]
    """(model id, adapter folder or None) for a request."""
    if request.adapter is None:
        if request.base_model:
            return request.base_model, None
        from arkor.engine.models import DEFAULT_MODEL

        return DEFAULT_MODEL, None
    ref = request.adapter
    job = load_job(services, scope, ref.job_id)
    root = artifact_root(services.settings.data_dir, job.id)
    if ref.kind == "final":
        folder = root / "final"
        missing = f"Final adapter of job `{job.id}` (the job is {job.status})"
    else:
        folder = root / "checkpoints" / f"step-{ref.step}"
        missing = f"Checkpoint step {ref.step} of job `{job.id}`"
    if not (folder / "adapter_config.json").is_file():
        raise not_found(missing)
    return JobConfig.model_validate(job.config).model, folder


def _engine_error(exc: Exception) -> ApiError:
    if isinstance(exc, ModelNotAvailableError):
        return ApiError(400, str(exc), code="model_not_available", param="baseModel")
    if isinstance(exc, (ConfigError, ValueError)):
        return ApiError(400, str(exc), code="invalid_request", param=getattr(exc, "field", None))
    return ApiError(500, f"inference failed: {exc}", code="inference_failed")


@router.post("/v1/inference/chat", summary="Chat completion (SSE when stream=true, else JSON)")
async def chat(services: ServicesDep, scope: ScopeDep, request: InferenceChatRequest) -> Any:
    model_id, adapter_dir = await anyio.to_thread.run_sync(resolve_target, services, scope, request)
    from arkor.engine.infer import get_engine

    engine = get_engine()
    if not request.stream:
        try:
            completion = await anyio.to_thread.run_sync(
                lambda: engine.complete(request, model_id=model_id, adapter_dir=adapter_dir)
            )
        except (ArkorError, ValueError) as exc:
            raise _engine_error(exc) from None
        return JSONResponse(completion.to_wire())
    try:
        chunks = await anyio.to_thread.run_sync(
            lambda: engine.stream(request, model_id=model_id, adapter_dir=adapter_dir)
        )
    except (ArkorError, ValueError) as exc:
        raise _engine_error(exc) from None
    return StreamingResponse(
        _sse(chunks), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


async def _sse(chunks: Iterator[Any]) -> AsyncIterator[bytes]:
    """Drain the engine's generator on ONE thread (it holds the model's lock), handing frames to the loop."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    stop = threading.Event()

    def pump() -> None:
        try:
            for chunk in chunks:
                if stop.is_set():
                    break
                frame = f"data: {json.dumps(chunk.to_wire(), separators=(',', ':'))}\n\n".encode()
                loop.call_soon_threadsafe(queue.put_nowait, frame)
        except Exception as exc:  # the reply already started: report in-band, then end
            logger.exception("inference stream failed")
            frame = f"event: error\ndata: {json.dumps({'error': str(exc)})}\n\n".encode()
            loop.call_soon_threadsafe(queue.put_nowait, frame)
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()  # releases the model's lock if we stopped early
            try:
                loop.call_soon_threadsafe(queue.put_nowait, None)
            except RuntimeError:
                pass

    thread = threading.Thread(target=pump, name="arkor-inference-stream", daemon=True)
    thread.start()
    try:
        while True:
            frame = await queue.get()
            if frame is None:
                break
            yield frame
        yield b"data: [DONE]\n\n"
    finally:
        stop.set()

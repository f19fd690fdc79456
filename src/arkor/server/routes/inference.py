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
from ..limits import BlockingPools
from ..model_access import check_model_reference
from ..models import ArtifactRow
from ..storage import storage_for

logger = logging.getLogger(__name__)
router = APIRouter(tags=["inference"])


def resolve_target(services, scope, request: InferenceChatRequest) -> tuple[str, Path | None]:  # type: ignore[no-untyped-def]
    """(model id, adapter folder or None) for a request."""
    if request.adapter is None:
        if request.base_model:
            check_model_reference(services.settings, request.base_model, param="baseModel")
            return request.base_model, None
        from arkor.engine.models import DEFAULT_MODEL

        return DEFAULT_MODEL, None
    ref = request.adapter
    job = load_job(services, scope, ref.job_id)
    if ref.kind == "final":
        prefix = "final"
        missing = f"Final adapter of job `{job.id}` (the job is {job.status})"
    else:
        prefix = f"checkpoints/step-{ref.step}"
        missing = f"Checkpoint step {ref.step} of job `{job.id}`"
    folder = _adapter_folder(services, job.id, prefix)
    if not (folder / "adapter_config.json").is_file():
        raise not_found(missing)
    return JobConfig.model_validate(job.config).model, folder


def _adapter_folder(services, job_id: str, prefix: str) -> Path:  # type: ignore[no-untyped-def]
    """A local folder with the adapter files (a copy when artifacts live on a remote store)."""
    storage = storage_for(services.settings)
    if storage.is_local:
        return storage.local_folder(job_id, prefix, {})
    from sqlalchemy import select

    with services.db.read() as session:
        files = dict(session.execute(
            select(ArtifactRow.pathname, ArtifactRow.sha256).where(ArtifactRow.job_id == job_id, ArtifactRow.pathname.startswith(prefix + "/"))
        ).all())
    if not files:
        return storage.staging_dir(job_id) / "missing" / prefix
    return storage.local_folder(job_id, prefix, files)


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
    return StreamingResponse(
        _sse(chunks, services.pools), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


_DRAINS: set[asyncio.Future[None]] = set()


async def _sse(chunks: Iterator[Any], pools: BlockingPools) -> AsyncIterator[bytes]:
    """Drain the engine's generator on ONE thread (it holds the model's lock), handing frames to the loop.

    The thread comes from the bounded `inference` pool, so a flood of streaming requests waits there
    instead of starting a thread each.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    stop = threading.Event()

    def pump() -> None:
        try:
            if stop.is_set():  # the client left while this waited for a pool slot
                return
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

    # Its own task, so a client that leaves (cancelling this generator) cannot cut pump short of its
    # `finally`; held in `_DRAINS` because asyncio keeps only weak references to tasks.
    drain = asyncio.ensure_future(pools.run("inference", pump))
    _DRAINS.add(drain)
    drain.add_done_callback(_DRAINS.discard)
    try:
        while True:
            frame = await queue.get()
            if frame is None:
                break
            yield frame
        yield b"data: [DONE]\n\n"
    finally:
        stop.set()

"""Chat completions for the inference and serving routes: what to run (base model, adapter folder),
the engine that runs it, and its streamed reply as SSE.

The engine is a dependency of the app (`Services.engine`, built by `build_services` or passed to
`create_app`), so a test or an embedding program can hand in its own. Generation runs on the
bounded `inference` pool; a streamed reply is drained on ONE pool thread (the engine's generator
holds the model's lock) and handed to the event loop frame by frame.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from arkor.protocol import (
    ChatCompletion,
    ChatCompletionChunk,
    InferenceChatRequest,
    JobConfig,
)
from arkor.protocol.sse import DONE_FRAME, encode_frame

from .adapters import adapter_folder, has_adapter, ref_step
from .deps import Scope, load_job
from .errors import not_found
from .limits import BlockingPools
from .model_access import check_model_reference

if TYPE_CHECKING:
    from .app import Services

logger = logging.getLogger(__name__)


class ChatEngine(Protocol):
    """What the routes need of an inference engine (`arkor.engine.infer.InferenceEngine` is one)."""

    def complete(
        self,
        request: InferenceChatRequest,
        *,
        model_id: str,
        adapter_dir: Path | None = None,
    ) -> ChatCompletion: ...

    def stream(
        self,
        request: InferenceChatRequest,
        *,
        model_id: str,
        adapter_dir: Path | None = None,
    ) -> Iterator[ChatCompletionChunk]: ...


def default_engine() -> ChatEngine:
    """The engine a backend gets when none is passed in (importing it loads no torch)."""
    from arkor.engine.infer import InferenceEngine

    return InferenceEngine()


def resolve_target(services: Services, scope: Scope, request: InferenceChatRequest) -> tuple[str, Path | None]:
    """(model id, adapter folder or None) for a request; 404 for an adapter outside the scope or missing."""
    if request.adapter is None:
        if request.base_model:
            check_model_reference(services.settings, request.base_model, param="baseModel")
            return request.base_model, None
        from arkor.engine.models import DEFAULT_MODEL

        return DEFAULT_MODEL, None
    ref = request.adapter
    job = load_job(services, scope, ref.job_id)
    step = ref_step(ref)
    folder = adapter_folder(services, job.id, step)
    if not has_adapter(folder):
        raise not_found(
            f"Final adapter of job `{job.id}` (the job is {job.status})"
            if step is None
            else f"Checkpoint step {step} of job `{job.id}`"
        )
    return JobConfig.model_validate(job.config).model, folder


_DRAINS: set[asyncio.Future[None]] = set()


async def sse_stream(chunks: Iterator[Any], pools: BlockingPools) -> AsyncIterator[bytes]:
    """The engine's chunks as SSE `data:` frames ending with `data: [DONE]`; a failure after the reply
    started is an `event: error` frame.

    The draining thread comes from the bounded `inference` pool, so a flood of streaming requests
    waits there instead of starting a thread each.
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
                loop.call_soon_threadsafe(queue.put_nowait, encode_frame(None, chunk.to_wire()))
        except Exception as exc:  # the reply already started: report in-band, then end
            logger.exception("inference stream failed")
            frame = encode_frame("error", json.dumps({"error": str(exc)}))
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
        yield DONE_FRAME
    finally:
        stop.set()


SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

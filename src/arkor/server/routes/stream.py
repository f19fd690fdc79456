"""`GET /v1/jobs/{id}/events/stream`: the job's events as SSE, resumable with `Last-Event-ID`."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse

from arkor.protocol import TERMINAL_STATUSES

from ..deps import MAX_INT64, ScopeDep, ServicesDep, load_job
from ..errors import V1_RESPONSES, ApiError
from ..events import stream_job_events
from ..jobs_store import job_status

router = APIRouter(tags=["jobs"], responses=V1_RESPONSES)
_EVENT_ID = re.compile(r"[0-9]{1,19}")


@router.get(
    "/v1/jobs/{job_id}/events/stream",
    summary="Server-sent events of a job: replay after Last-Event-ID, then live; `end` after the last",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {
                "text/event-stream": {
                    "schema": {
                        "type": "string",
                        "description": "`id: <seq>` / `event: <JobEvent type>` / `data: <JobEvent>` frames, then `event: end`",
                    }
                }
            },
            "description": "The job's events as server-sent events",
        }
    },
)
async def stream_events(
    services: ServicesDep,
    scope: ScopeDep,
    job_id: str,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    job_id = (await anyio.to_thread.run_sync(load_job, services, scope, job_id)).id
    after = parse_last_event_id(last_event_id)
    release = services.streams.acquire(scope.caller.token_id or scope.caller.user_id)

    def job_is_terminal() -> bool:
        status = job_status(services.db, job_id)
        return status is None or status in TERMINAL_STATUSES

    body = stream_job_events(
        job_id=job_id,
        after_seq=after,
        log=services.log,
        broadcaster=services.broadcaster,
        ping_interval_s=services.settings.sse_ping_interval_s,
        job_is_terminal=job_is_terminal,
    )
    return _SlotStreamingResponse(
        body,
        release=release,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def parse_last_event_id(value: str | None) -> int:
    """The seq to resume after: 0 when absent, else a non-negative integer that fits the database."""
    if value in (None, ""):
        return 0
    text = value.strip()  # type: ignore[union-attr]
    if not _EVENT_ID.fullmatch(text) or int(text) > MAX_INT64:
        raise ApiError(
            400,
            f"Last-Event-ID must be an event id from this stream (an integer from 0 to {MAX_INT64}), got {value[:40]!r}",  # type: ignore[index]
            code="invalid_request",
            param="Last-Event-ID",
        )
    return int(text)


class _SlotStreamingResponse(StreamingResponse):
    """Gives its stream slot back however the response ends (finished, client gone, server stopping)."""

    def __init__(self, content: AsyncIterator[bytes], *, release: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self._release = release
        self._content = content

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()
            with contextlib.suppress(RuntimeError):  # already closed, or closing elsewhere
                await self._content.aclose()  # type: ignore[attr-defined]

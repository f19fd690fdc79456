"""`GET /v1/jobs/{id}/events/stream`: the job's events as SSE, resumable with `Last-Event-ID`."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from arkor.protocol import TERMINAL_STATUSES

from ..deps import ScopeDep, ServicesDep, load_job
from ..errors import ApiError
from ..events import stream_job_events
from ..models import JobRow

router = APIRouter(tags=["jobs"])


@router.get(
    "/v1/jobs/{job_id}/events/stream",
    summary="Server-sent events of a job: replay after Last-Event-ID, then live; `end` after the last",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_events(
    services: ServicesDep,
    scope: ScopeDep,
    job_id: str,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    job_id = (await anyio.to_thread.run_sync(load_job, services, scope, job_id)).id
    after = 0
    if last_event_id not in (None, ""):
        try:
            after = int(last_event_id)
        except ValueError:
            raise ApiError(400, f"Last-Event-ID must be an event id from this stream (an integer), got {last_event_id!r}", param="Last-Event-ID") from None
        if after < 0:
            raise ApiError(400, "Last-Event-ID must not be negative", param="Last-Event-ID")

    def job_is_terminal() -> bool:
        with services.db.read() as session:
            status = session.execute(select(JobRow.status).where(JobRow.id == job_id)).scalar_one_or_none()
        return status is None or status in TERMINAL_STATUSES

    body = stream_job_events(
        job_id=job_id,
        after_seq=after,
        log=services.log,
        broadcaster=services.broadcaster,
        ping_interval_s=services.settings.sse_ping_interval_s,
        job_is_terminal=job_is_terminal,
    )
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )

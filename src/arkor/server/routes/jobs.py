"""Jobs: create (idempotent with `Idempotency-Key`), list, read, cancel, resume."""

from __future__ import annotations

import time
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Body, Header, Query
from fastapi.responses import JSONResponse

from arkor.protocol import TERMINAL_STATUSES, JobListResponse, JobResponse
from arkor.protocol.jobs import JobCancelResponse

from ..deps import ScopeDep, ServicesDep, load_job
from ..errors import V1_RESPONSES, ApiError, not_found
from ..events import EventLog
from ..jobs_store import create_job, job_wire, list_project_jobs, parse_job_request, request_fingerprint
from ..manager import JobConflict
from ..wire import wire

router = APIRouter(tags=["jobs"], responses=V1_RESPONSES)


@router.post(
    "/v1/jobs",
    status_code=201,
    summary="Queue a training job (Idempotent-Replayed: true on a replay)",
    response_model=JobResponse,
)
def create(
    services: ServicesDep,
    scope: ScopeDep,
    body: Annotated[dict[str, Any], Body(description="`{name, config: JobConfig}`")],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> JSONResponse:
    request = parse_job_request(body)
    created = create_job(
        services.db,
        scope,
        request,
        fingerprint=request_fingerprint(body),
        idempotency_key=idempotency_key or None,
        settings=services.settings,
    )
    if not created.replayed:
        services.manager.wake()
    headers = {"Idempotent-Replayed": "true"} if created.replayed else None
    return wire(JobResponse(job=job_wire(created.row)), status_code=201, headers=headers)


@router.get("/v1/jobs", summary="The project's jobs, newest first", response_model=JobListResponse)
def list_jobs(
    services: ServicesDep,
    scope: ScopeDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> JSONResponse:
    rows = list_project_jobs(services.db, scope.project.id, limit)
    return wire(JobListResponse(jobs=[job_wire(r) for r in rows]))


@router.get("/v1/jobs/{job_id}", summary="One job (and its events with ?events=true)", response_model=JobResponse)
def get_job(
    services: ServicesDep,
    scope: ScopeDep,
    job_id: str,
    events: Annotated[bool, Query(description="include the job's event log")] = False,
) -> JSONResponse:
    row = load_job(services, scope, job_id)
    payloads = [e.payload for e in _all_events(services.log, row.id)] if events else None
    return wire(JobResponse(job=job_wire(row), events=payloads))


def _all_events(log: EventLog, job_id: str) -> list:
    out: list = []
    last = 0
    while True:
        batch = log.read_after(job_id, last)
        if not batch:
            return out
        out += batch
        last = batch[-1].seq


@router.post(
    "/v1/jobs/{job_id}/cancel", summary="Cancel a job (409 when it already ended)", response_model=JobCancelResponse
)
async def cancel(services: ServicesDep, scope: ScopeDep, job_id: str) -> JSONResponse:
    job_id = (await anyio.to_thread.run_sync(load_job, services, scope, job_id)).id
    try:
        status = await anyio.to_thread.run_sync(services.manager.cancel, job_id)
    except JobConflict as exc:
        raise ApiError(409, str(exc), code="job_finished") from None
    except KeyError:
        raise not_found(f"Job `{job_id}`") from None
    # A running worker stops at its next step boundary; wait a little so the answer is usually final.
    deadline = time.monotonic() + services.settings.cancel_grace_s + 5
    while status not in TERMINAL_STATUSES and time.monotonic() < deadline:
        await anyio.sleep(0.05)
        row = await anyio.to_thread.run_sync(load_job, services, scope, job_id)
        status = row.status
    row = await anyio.to_thread.run_sync(load_job, services, scope, job_id)
    return wire(JobCancelResponse(ok=True, job=job_wire(row)))


@router.post(
    "/v1/jobs/{job_id}/resume",
    summary="Resume a failed or cancelled job from its last checkpoint, as the same job (409 otherwise)",
    response_model=JobResponse,
)
async def resume(services: ServicesDep, scope: ScopeDep, job_id: str) -> JSONResponse:
    await anyio.to_thread.run_sync(load_job, services, scope, job_id)
    try:
        await anyio.to_thread.run_sync(services.manager.resume, job_id)
    except JobConflict as exc:
        raise ApiError(409, str(exc), code="job_not_resumable") from None
    except KeyError:
        raise not_found(f"Job `{job_id}`") from None
    row = await anyio.to_thread.run_sync(load_job, services, scope, job_id)
    return wire(JobResponse(job=job_wire(row)))

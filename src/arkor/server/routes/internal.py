"""The internal worker API: events, heartbeats and artifact uploads, each with the job's own token.

Not for SDK clients (no `X-Arkor-Client` needed). A worker token is minted when its job is claimed
and cleared when the job ends, so a stray worker cannot write into a finished job.
"""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from arkor.protocol import Artifact, HeartbeatRequest, JobEventBase, WorkerEventBatch
from arkor.protocol.worker import HeartbeatResponse, WorkerEventsAccepted

from .. import artifacts_store
from ..deps import INVALID_WORKER_TOKEN, ServicesDep, worker_token_valid
from ..errors import ERROR_RESPONSES, ApiError
from ..manager import JobConflict
from ..storage import storage_for
from ..uploads import receive_file, safe_pathname
from ..wire import wire
from .artifacts import artifact_url

router = APIRouter(prefix="/internal", tags=["internal"], responses=ERROR_RESPONSES)
_bearer = HTTPBearer(auto_error=False, description="The job's worker token from its WorkerSpec.")


def _authorize_worker(services, job_id: str, credentials: HTTPAuthorizationCredentials | None) -> None:  # type: ignore[no-untyped-def]
    # `RequestGuard` already refused a bad token before the body was read; this keeps each route safe on its own.
    if credentials is None or not worker_token_valid(services, job_id, credentials.credentials):
        raise ApiError(401, INVALID_WORKER_TOKEN, code="unauthorized")


WorkerAuth = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


@router.post(
    "/jobs/{job_id}/events",
    summary="A worker reports events (a terminal one ends the job)",
    response_model=WorkerEventsAccepted,
)
def post_events(services: ServicesDep, job_id: str, batch: WorkerEventBatch, credentials: WorkerAuth) -> JSONResponse:
    _authorize_worker(services, job_id, credentials)
    events = [_with_artifact_urls(job_id, event) for event in batch.events]
    try:
        stored_events = services.manager.record_worker_events(job_id, events, first_index=batch.first_index)
    except JobConflict as exc:
        raise ApiError(409, str(exc), code="job_finished") from None
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    return wire(WorkerEventsAccepted(accepted=len(stored_events)))


def _with_artifact_urls(job_id: str, event: JobEventBase) -> JobEventBase:
    """The event with each artifact it names given the URL a client downloads it from."""
    artifacts = getattr(event, "artifacts", None)
    if not isinstance(artifacts, list) or not all(isinstance(a, Artifact) for a in artifacts):
        return event
    linked = [a if a.url else a.model_copy(update={"url": artifact_url(job_id, a.pathname)}) for a in artifacts]
    return event.model_copy(update={"artifacts": linked})


@router.post(
    "/jobs/{job_id}/heartbeat",
    summary="A worker says it is alive (and whether it should stop)",
    response_model=HeartbeatResponse,
)
def heartbeat(services: ServicesDep, job_id: str, body: HeartbeatRequest, credentials: WorkerAuth) -> JSONResponse:
    _authorize_worker(services, job_id, credentials)
    keep_going = services.manager.record_heartbeat(job_id, step=body.step, pid=body.pid)
    return wire(HeartbeatResponse(ok=True, cancel_requested=not keep_going))


@router.put(
    "/jobs/{job_id}/artifacts/{pathname:path}",
    summary="A worker uploads one artifact file (raw body)",
    response_model=Artifact,
    openapi_extra={
        "requestBody": {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
    },
)
async def put_artifact(
    request: Request, services: ServicesDep, job_id: str, pathname: str, credentials: WorkerAuth
) -> JSONResponse:
    relative = safe_pathname(pathname)
    await anyio.to_thread.run_sync(_authorize_worker, services, job_id, credentials)
    storage = storage_for(services.settings)
    staging = storage.staging_dir(job_id)
    try:
        tmp, sha256, size = await receive_file(
            request.stream(), staging, suffix=".part", max_bytes=services.settings.max_upload_bytes
        )
        try:
            await anyio.to_thread.run_sync(storage.put, job_id, relative, tmp)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:  # a full or failing disk: the worker ends the job with this, it does not retry
        raise ApiError(507, _storage_fault(str(relative), storage.url, exc), code="insufficient_storage") from None
    await anyio.to_thread.run_sync(artifacts_store.index_artifact, services.db, job_id, str(relative), size, sha256)
    return wire(Artifact(pathname=str(relative), size=size, sha256=sha256, url=artifact_url(job_id, str(relative))))


def _storage_fault(pathname: str, where: str, exc: OSError) -> str:
    import errno

    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        problem = f"its artifact store ({where}) is full ({reason}). Free space there"
    else:
        problem = f"writing to its artifact store ({where}) failed ({reason}). Check that disk"
    return (
        f"The backend could not store the artifact {pathname}: {problem}, then resume the job with "
        "`arkor jobs resume JOB` (it goes on from its last stored checkpoint)."
    )

"""A job's artifacts (list, download) and its checkpoints, for the job's own org and project only."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse

from arkor.protocol import Artifact, ArtifactListResponse, CheckpointInfo, CheckpointListResponse

from .. import artifacts_store
from ..deps import ScopeDep, ServicesDep, load_job
from ..errors import V1_RESPONSES, not_found
from ..storage import storage_for
from ..uploads import safe_pathname
from ..wire import wire

router = APIRouter(tags=["artifacts"], responses=V1_RESPONSES)


def artifact_url(job_id: str, pathname: str) -> str:
    return f"/v1/jobs/{job_id}/artifacts/{pathname}"


@router.get("/v1/jobs/{job_id}/artifacts", summary="Files the job produced", response_model=ArtifactListResponse)
def list_artifacts(services: ServicesDep, scope: ScopeDep, job_id: str) -> JSONResponse:
    job_id = load_job(services, scope, job_id).id
    rows = artifacts_store.list_artifacts(services.db, job_id)
    return wire(
        ArtifactListResponse(
            artifacts=[
                Artifact(pathname=r.pathname, size=r.size, sha256=r.sha256, url=artifact_url(job_id, r.pathname))
                for r in rows
            ]
        )
    )


@router.get(
    "/v1/jobs/{job_id}/artifacts/{pathname:path}",
    summary="Download one artifact",
    response_class=FileResponse,
    responses={
        200: {
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The file's bytes",
        }
    },
)
def download_artifact(services: ServicesDep, scope: ScopeDep, job_id: str, pathname: str) -> Response:
    job_id = load_job(services, scope, job_id).id
    relative = safe_pathname(pathname)
    known = artifacts_store.is_indexed(services.db, job_id, str(relative))
    storage = storage_for(services.settings)
    path = storage.local_path(job_id, relative)
    if not known or not (path.is_file() if path is not None else storage.exists(job_id, relative)):
        raise not_found(f"Artifact `{pathname}` of job `{job_id}`")
    if path is not None:
        return FileResponse(path, media_type="application/octet-stream", filename=relative.name)
    return StreamingResponse(
        storage.iter_bytes(job_id, relative),
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{relative.name}"'},
    )


@router.get(
    "/v1/jobs/{job_id}/checkpoints",
    summary="The job's saved checkpoints (from its checkpoint.saved events)",
    response_model=CheckpointListResponse,
)
def list_checkpoints(services: ServicesDep, scope: ScopeDep, job_id: str) -> JSONResponse:
    job_id = load_job(services, scope, job_id).id
    checkpoints = [
        CheckpointInfo(
            step=p["step"],
            artifacts=[Artifact.model_validate(a) for a in p.get("artifacts", [])],
            created_at=p.get("timestamp"),
        )
        for p in artifacts_store.checkpoint_events(services.db, job_id)
    ]
    return wire(CheckpointListResponse(checkpoints=checkpoints))

"""A job's artifacts (list, download) and its checkpoints, for the job's own org and project only."""

from __future__ import annotations


from fastapi import APIRouter
from fastapi.responses import FileResponse, Response, StreamingResponse
from sqlalchemy import select

from arkor.protocol import Artifact, ArtifactListResponse, CheckpointInfo, CheckpointListResponse

from ..deps import ScopeDep, ServicesDep, load_job
from ..errors import not_found
from ..models import ArtifactRow, EventRow
from ..storage import storage_for
from ..uploads import safe_pathname

router = APIRouter(tags=["artifacts"])


def artifact_url(job_id: str, pathname: str) -> str:
    return f"/v1/jobs/{job_id}/artifacts/{pathname}"


@router.get("/v1/jobs/{job_id}/artifacts", summary="Files the job produced")
def list_artifacts(services: ServicesDep, scope: ScopeDep, job_id: str) -> dict:
    job_id = load_job(services, scope, job_id).id
    with services.db.read() as session:
        rows = session.execute(
            select(ArtifactRow).where(ArtifactRow.job_id == job_id).order_by(ArtifactRow.pathname)
        ).scalars().all()
    return ArtifactListResponse(
        artifacts=[Artifact(pathname=r.pathname, size=r.size, sha256=r.sha256, url=artifact_url(job_id, r.pathname)) for r in rows]
    ).to_wire()


@router.get("/v1/jobs/{job_id}/artifacts/{pathname:path}", summary="Download one artifact")
def download_artifact(services: ServicesDep, scope: ScopeDep, job_id: str, pathname: str) -> Response:
    job_id = load_job(services, scope, job_id).id
    relative = safe_pathname(pathname)
    with services.db.read() as session:
        known = session.execute(
            select(ArtifactRow.id).where(ArtifactRow.job_id == job_id, ArtifactRow.pathname == str(relative))
        ).scalar_one_or_none()
    storage = storage_for(services.settings)
    path = storage.local_path(job_id, relative)
    if known is None or not (path.is_file() if path is not None else storage.exists(job_id, relative)):
        raise not_found(f"Artifact `{pathname}` of job `{job_id}`")
    if path is not None:
        return FileResponse(path, media_type="application/octet-stream", filename=relative.name)
    return StreamingResponse(
        storage.iter_bytes(job_id, relative),
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{relative.name}"'},
    )


@router.get("/v1/jobs/{job_id}/checkpoints", summary="The job's saved checkpoints (from its checkpoint.saved events)")
def list_checkpoints(services: ServicesDep, scope: ScopeDep, job_id: str) -> dict:
    job_id = load_job(services, scope, job_id).id
    with services.db.read() as session:
        payloads = session.execute(
            select(EventRow.payload).where(EventRow.job_id == job_id, EventRow.type == "checkpoint.saved").order_by(EventRow.seq)
        ).scalars().all()
    checkpoints = [
        CheckpointInfo(step=p["step"], artifacts=[Artifact.model_validate(a) for a in p.get("artifacts", [])], created_at=p.get("timestamp"))
        for p in payloads
    ]
    return CheckpointListResponse(checkpoints=checkpoints).to_wire()

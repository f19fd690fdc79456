"""Projects of an org: list and create (slug unique per org)."""

from __future__ import annotations

import re

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from arkor.protocol import Project, ProjectCreateRequest, ProjectListResponse, ProjectResponse
from arkor.protocol.auth import OrgRef

from .._util import iso_now, new_id
from ..deps import OrgScopeDep, ServicesDep
from ..errors import ApiError
from ..models import ProjectRow

router = APIRouter(tags=["projects"])

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def project_wire(row: ProjectRow) -> Project:
    return Project(id=row.id, slug=row.slug, name=row.name, org_id=row.org_id)


@router.get("/v1/projects", summary="List the org's projects")
def list_projects(services: ServicesDep, scope: OrgScopeDep) -> dict:
    with services.db.read() as session:
        rows = session.execute(
            select(ProjectRow).where(ProjectRow.org_id == scope.org.id).order_by(ProjectRow.created_at)
        ).scalars().all()
    return ProjectListResponse(org=OrgRef(slug=scope.org.slug), projects=[project_wire(r) for r in rows]).to_wire()


@router.post("/v1/projects", status_code=201, summary="Create a project (409 when the slug is taken)")
def create_project(services: ServicesDep, scope: OrgScopeDep, body: ProjectCreateRequest) -> JSONResponse:
    if not _SLUG.match(body.slug):
        raise ApiError(
            400,
            f"slug {body.slug!r} must be 1-64 characters of a-z, 0-9 and '-', not starting or ending with '-'",
            param="slug",
        )
    if not body.name.strip() or len(body.name) > 200:
        raise ApiError(400, "name must be 1-200 characters", param="name")
    row = ProjectRow(id=new_id("prj"), org_id=scope.org.id, slug=body.slug, name=body.name, created_at=iso_now())
    try:
        with services.db.write() as session:
            taken = session.execute(
                select(ProjectRow.id).where(ProjectRow.org_id == scope.org.id, ProjectRow.slug == body.slug)
            ).scalar_one_or_none()
            if taken:
                raise ApiError(409, "Slug already taken", code="slug_taken", param="slug")
            session.add(row)
    except IntegrityError:
        raise ApiError(409, "Slug already taken", code="slug_taken", param="slug") from None
    return JSONResponse(ProjectResponse(project=project_wire(row)).to_wire(), status_code=201)

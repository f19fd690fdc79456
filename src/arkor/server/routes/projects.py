"""Projects of an org: list and create (slug unique per org)."""

from __future__ import annotations

import re

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from arkor.protocol import Project, ProjectCreateRequest, ProjectListResponse, ProjectResponse
from arkor.protocol.auth import OrgRef

from .. import projects_store
from ..deps import OrgScopeDep, ServicesDep
from ..errors import V1_RESPONSES, ApiError
from ..models import ProjectRow
from ..wire import wire

router = APIRouter(tags=["projects"], responses=V1_RESPONSES)

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def project_wire(row: ProjectRow) -> Project:
    return Project(id=row.id, slug=row.slug, name=row.name, org_id=row.org_id)


@router.get("/v1/projects", summary="List the org's projects", response_model=ProjectListResponse)
def list_projects(services: ServicesDep, scope: OrgScopeDep) -> JSONResponse:
    rows = projects_store.list_projects(services.db, scope.org.id)
    return wire(ProjectListResponse(org=OrgRef(slug=scope.org.slug), projects=[project_wire(r) for r in rows]))


@router.post(
    "/v1/projects",
    status_code=201,
    summary="Create a project (409 when the slug is taken)",
    response_model=ProjectResponse,
)
def create_project(services: ServicesDep, scope: OrgScopeDep, body: ProjectCreateRequest) -> JSONResponse:
    if not _SLUG.match(body.slug):
        raise ApiError(
            400,
            f"slug {body.slug!r} must be 1-64 characters of a-z, 0-9 and '-', not starting or ending with '-'",
            param="slug",
        )
    if not body.name.strip() or len(body.name) > 200:
        raise ApiError(400, "name must be 1-200 characters", param="name")
    try:
        row = projects_store.create_project(services.db, scope.org.id, slug=body.slug, name=body.name)
    except projects_store.SlugTaken:
        raise ApiError(409, "Slug already taken", code="slug_taken", param="slug") from None
    return wire(ProjectResponse(project=project_wire(row)), status_code=201)

"""Request dependencies: the app's services, the authenticated caller, and the org/project scope.

Auth and tenancy form one chain: bearer token -> caller (user + org ids) -> scope (org and project
the caller belongs to). Anything outside the caller's orgs is reported as not found, never forbidden,
so ids of other tenants leak nothing.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from ._util import hash_token
from .errors import ApiError, not_found
from .models import JobRow, MembershipRow, OrgRow, ProjectRow, TokenRow, UserRow

if TYPE_CHECKING:
    from .app import Services


def get_services(request: Request) -> "Services":
    return request.app.state.services


ServicesDep = Annotated["Services", Depends(get_services)]

_bearer = HTTPBearer(auto_error=False, description="A token from POST /v1/auth/anonymous or `arkor server token create`.")


def client_header(
    x_arkor_client: Annotated[
        str | None, Header(alias="X-Arkor-Client", description="`arkor/<version>`; required (426 without it).")
    ] = None,
) -> str | None:
    """Documents the header in OpenAPI; the 426 itself is sent by the middleware in `app.py`."""
    return x_arkor_client


MAX_INT64 = 2**63 - 1
"""The largest integer the database stores: every id, offset or limit parsed from a request stays at or below it."""

MISSING_TOKEN = "Missing bearer token. Run `arkor login --anonymous` or pass Authorization: Bearer <token>."
INVALID_TOKEN = "Invalid or revoked token. Run `arkor login` again."
INVALID_WORKER_TOKEN = "invalid worker token for this job (or the job has ended)"


@dataclass(frozen=True)
class Caller:
    user_id: str
    org_ids: frozenset[str]
    token_id: str = ""
    """The credential this request presented (event-stream slots are counted per token)."""


def token_caller(services: "Services", token: str) -> Caller | None:
    """Who `token` belongs to, or None for an unknown or revoked token."""
    with services.db.read() as session:
        found = session.execute(
            select(TokenRow.id, TokenRow.user_id).where(TokenRow.token_hash == hash_token(token))
        ).one_or_none()
        if found is None:
            return None
        token_id, user_id = found
        org_ids = session.execute(select(MembershipRow.org_id).where(MembershipRow.user_id == user_id)).scalars().all()
    return Caller(user_id=user_id, org_ids=frozenset(org_ids), token_id=token_id)


def worker_token_valid(services: "Services", job_id: str, token: str) -> bool:
    """True when `token` is the running job's worker token (cleared when the job ends)."""
    with services.db.read() as session:
        expected = session.execute(select(JobRow.worker_token_hash).where(JobRow.id == job_id)).scalar_one_or_none()
    return bool(expected) and hmac.compare_digest(expected, hash_token(token))


def get_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None or not credentials.credentials:
        raise ApiError(401, MISSING_TOKEN, code="unauthorized")
    caller = token_caller(get_services(request), credentials.credentials)
    if caller is None:
        raise ApiError(401, INVALID_TOKEN, code="unauthorized")
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]


@dataclass(frozen=True)
class OrgScope:
    caller: Caller
    org: OrgRow


@dataclass(frozen=True)
class Scope:
    caller: Caller
    org: OrgRow
    project: ProjectRow


def get_org_scope(
    services: ServicesDep,
    caller: CallerDep,
    org_slug: Annotated[str, Query(alias="orgSlug", min_length=1, max_length=80)],
) -> OrgScope:
    with services.db.read() as session:
        org = session.execute(select(OrgRow).where(OrgRow.slug == org_slug)).scalar_one_or_none()
    if org is None or org.id not in caller.org_ids:
        raise not_found(f"Org `{org_slug}`")
    return OrgScope(caller=caller, org=org)


OrgScopeDep = Annotated[OrgScope, Depends(get_org_scope)]


def get_scope(
    services: ServicesDep,
    org_scope: OrgScopeDep,
    project_slug: Annotated[str, Query(alias="projectSlug", min_length=1, max_length=80)],
) -> Scope:
    with services.db.read() as session:
        project = session.execute(
            select(ProjectRow).where(ProjectRow.org_id == org_scope.org.id, ProjectRow.slug == project_slug)
        ).scalar_one_or_none()
    if project is None:
        raise not_found(f"Project `{project_slug}`")
    return Scope(caller=org_scope.caller, org=org_scope.org, project=project)


ScopeDep = Annotated[Scope, Depends(get_scope)]


def load_job(services: "Services", scope: Scope, job_id: str) -> JobRow:
    """The job if it lives in the scope's project; 404 otherwise (whoever owns it)."""
    with services.db.read() as session:
        job = session.get(JobRow, job_id)
    if job is None or job.org_id != scope.org.id or job.project_id != scope.project.id:
        raise not_found(f"Job `{job_id}`")
    return job


def user_row(services: "Services", user_id: str) -> UserRow | None:
    with services.db.read() as session:
        return session.get(UserRow, user_id)

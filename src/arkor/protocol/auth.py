"""Identity shapes: anonymous tokens, the caller, orgs and projects."""

from __future__ import annotations

from typing import ClassVar, Literal

from ._base import WireModel


class AnonymousTokenRequest(WireModel):
    kind: Literal["cli", "web"] = "cli"


class Org(WireModel):
    id: str
    slug: str
    name: str


class AnonymousTokenResponse(WireModel):
    token: str
    anonymous_id: str
    kind: Literal["cli", "web"]
    personal_org: Org


class CliConfig(WireModel):
    """OAuth settings; all None means OAuth is off (always so for a self-hosted backend)."""

    auth0_domain: str | None = None
    client_id: str | None = None
    audience: str | None = None
    callback_ports: list[int] = []


class User(WireModel):
    read_required: ClassVar[frozenset[str]] = frozenset()  # the original reads `user: {...}` as is

    id: str
    name: str | None = None
    anonymous: bool = False


class MeResponse(WireModel):
    user: User
    orgs: list[Org]


class Project(WireModel):
    id: str
    slug: str
    name: str
    org_id: str


class ProjectCreateRequest(WireModel):
    name: str
    slug: str


class ProjectResponse(WireModel):
    project: Project


class OrgRef(WireModel):
    slug: str


class ProjectListResponse(WireModel):
    org: OrgRef
    projects: list[Project]

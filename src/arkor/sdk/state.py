"""Project state `.arkor/state.json` (`{orgSlug, projectSlug, projectId}`) and anonymous bootstrap.

Read paths never create anything. `ensure_project_state` returns usable state, bootstraps a
project for an anonymous user without state (reusing a same-slug project on 409), and refuses a
stale anonymous state from another org (never overwriting it).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import CloudApiError, ProjectStateMismatchError, ProjectStateMissingError


@dataclass(frozen=True)
class ProjectState:
    org_slug: str
    project_slug: str
    project_id: str

    def to_wire(self) -> dict[str, str]:
        return {"orgSlug": self.org_slug, "projectSlug": self.project_slug, "projectId": self.project_id}


def state_path(cwd: str | os.PathLike[str] | None = None) -> Path:
    return Path(cwd or os.getcwd()) / ".arkor" / "state.json"


def read_state(cwd: str | os.PathLike[str] | None = None) -> ProjectState | None:
    """The project state, or None when absent, malformed, or missing one of its three strings."""
    try:
        data = json.loads(state_path(cwd).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    values = [data.get(key) for key in ("orgSlug", "projectSlug", "projectId")]
    if not all(isinstance(value, str) for value in values):
        return None
    return ProjectState(*values)  # type: ignore[arg-type]


def write_state(state: ProjectState | Mapping[str, Any], cwd: str | os.PathLike[str] | None = None) -> None:
    """Write pretty JSON with a trailing newline, creating `.arkor/`."""
    if isinstance(state, Mapping):
        state = ProjectState(
            str(state.get("orgSlug", state.get("org_slug"))),
            str(state.get("projectSlug", state.get("project_slug"))),
            str(state.get("projectId", state.get("project_id"))),
        )
    path = state_path(cwd)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state.to_wire(), indent=2) + "\n", encoding="utf-8")


def project_slug_for(name: str) -> str:
    """Lowercase; anything outside [a-z0-9-] becomes `-`; trim dashes; at most 40 chars; `project`."""
    slug = re.sub(r"[^a-z0-9-]", "-", name.lower()).strip("-")[:40].strip("-")
    return slug or "project"


def _usable(state: ProjectState, credentials: Mapping[str, Any]) -> bool:
    if credentials.get("mode") == "oauth":
        return True
    return state.org_slug == credentials.get("orgSlug")


def _state_of(project: Any, org_slug: str) -> ProjectState:
    return ProjectState(org_slug, project.slug, project.id)


def ensure_project_state(
    *, cwd: str | os.PathLike[str] | None, client: Any, credentials: Mapping[str, Any]
) -> ProjectState:
    """Usable state, bootstrapping an anonymous project when there is none (sync client)."""
    state, plan = _plan(cwd, credentials)
    if state is not None:
        return state
    org_slug, name, slug = plan
    try:
        project = client.create_project(org_slug=org_slug, name=name, slug=slug).project
    except CloudApiError as exc:
        if exc.status != 409:
            raise
        project = _reuse(client.list_projects(org_slug), slug, exc)
    state = _state_of(project, org_slug)
    write_state(state, cwd)
    return state


async def ensure_project_state_async(
    *, cwd: str | os.PathLike[str] | None, client: Any, credentials: Mapping[str, Any]
) -> ProjectState:
    """`ensure_project_state` with an `AsyncCloudApiClient`."""
    state, plan = _plan(cwd, credentials)
    if state is not None:
        return state
    org_slug, name, slug = plan
    try:
        project = (await client.create_project(org_slug=org_slug, name=name, slug=slug)).project
    except CloudApiError as exc:
        if exc.status != 409:
            raise
        project = _reuse(await client.list_projects(org_slug), slug, exc)
    state = _state_of(project, org_slug)
    write_state(state, cwd)
    return state


def _plan(cwd: Any, credentials: Mapping[str, Any]) -> tuple[ProjectState | None, Any]:
    existing = read_state(cwd)
    if existing is not None:
        if _usable(existing, credentials):
            return existing, None
        raise ProjectStateMismatchError()
    if credentials.get("mode") == "oauth":
        raise ProjectStateMissingError(
            "No .arkor/state.json found. Create it by hand with { orgSlug, projectSlug, projectId } "
            "pointing at the project you want to use."
        )
    name = Path(cwd or os.getcwd()).resolve().name
    return None, (str(credentials.get("orgSlug")), name or "project", project_slug_for(name))


def _reuse(listing: Any, slug: str, conflict: CloudApiError) -> Any:
    for project in listing.projects:
        if project.slug == slug:
            return project
    raise conflict

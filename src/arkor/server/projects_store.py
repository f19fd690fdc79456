"""Projects of an org: list and create (a slug is unique per org)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ._util import iso_now, new_id
from .db import Database
from .models import ProjectRow


class SlugTaken(Exception):
    """The org already has a project with this slug."""


def list_projects(db: Database, org_id: str) -> list[ProjectRow]:
    with db.read() as session:
        return list(
            session.execute(
                select(ProjectRow).where(ProjectRow.org_id == org_id).order_by(ProjectRow.created_at)
            ).scalars()
        )


def create_project(db: Database, org_id: str, *, slug: str, name: str) -> ProjectRow:
    """The new project. Raises SlugTaken (also when a concurrent create of the same slug won)."""
    row = ProjectRow(id=new_id("prj"), org_id=org_id, slug=slug, name=name, created_at=iso_now())
    try:
        with db.write() as session:
            taken = session.execute(
                select(ProjectRow.id).where(ProjectRow.org_id == org_id, ProjectRow.slug == slug)
            ).scalar_one_or_none()
            if taken:
                raise SlugTaken(slug)
            session.add(row)
    except IntegrityError:
        raise SlugTaken(slug) from None
    return row

"""The artifact index: which files a job produced (pathname, size, sha256), and its checkpoints.

The files themselves live in the artifact store (`storage.py`); this module owns their rows. The
upsert is written per dialect (SQLite and PostgreSQL both say `ON CONFLICT DO UPDATE`, through
their own SQLAlchemy constructs), so a worker that uploads a file again replaces its row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from ._util import iso_now
from .db import Database
from .models import ArtifactRow, EventRow


def list_artifacts(db: Database, job_id: str) -> list[ArtifactRow]:
    with db.read() as session:
        return list(
            session.execute(
                select(ArtifactRow).where(ArtifactRow.job_id == job_id).order_by(ArtifactRow.pathname)
            ).scalars()
        )


def is_indexed(db: Database, job_id: str, pathname: str) -> bool:
    """Whether the job reported a file at `pathname` (the store may hold stray files; only these are served)."""
    with db.read() as session:
        found = session.execute(
            select(ArtifactRow.id).where(ArtifactRow.job_id == job_id, ArtifactRow.pathname == pathname)
        ).scalar_one_or_none()
    return found is not None


def files_under(db: Database, job_id: str, prefix: str) -> dict[str, str]:
    """pathname -> sha256 of the job's files under the folder `prefix` (e.g. `final`)."""
    with db.read() as session:
        return dict(
            session.execute(
                select(ArtifactRow.pathname, ArtifactRow.sha256).where(
                    ArtifactRow.job_id == job_id,
                    ArtifactRow.pathname.startswith(prefix + "/", autoescape=True),
                )
            )
            .tuples()
            .all()
        )


def index_artifact(db: Database, job_id: str, pathname: str, size: int, sha256: str) -> None:
    """Record (or replace) the row of one uploaded file."""
    values = {
        "job_id": job_id,
        "pathname": pathname,
        "size": size,
        "sha256": sha256,
        "created_at": iso_now(),
    }
    dialect: Any = sqlite if db.is_sqlite else postgresql
    statement = (
        dialect.insert(ArtifactRow)
        .values(**values)
        .on_conflict_do_update(
            index_elements=["job_id", "pathname"],
            set_={"size": size, "sha256": sha256, "created_at": values["created_at"]},
        )
    )
    with db.write() as session:
        session.execute(statement)


def checkpoint_events(db: Database, job_id: str) -> list[dict[str, Any]]:
    """The payloads of the job's `checkpoint.saved` events, oldest first (the record of its checkpoints)."""
    with db.read() as session:
        return list(
            session.execute(
                select(EventRow.payload)
                .where(EventRow.job_id == job_id, EventRow.type == "checkpoint.saved")
                .order_by(EventRow.seq)
            ).scalars()
        )

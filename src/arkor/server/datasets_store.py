"""The dataset index: one row per uploaded file of an org (content-addressed: one row per sha256)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from ._util import iso_now, new_id
from .db import Database
from .models import DatasetRow


def org_usage(db: Database, org_id: str) -> int:
    """Bytes the org's datasets take."""
    with db.read() as session:
        used = session.execute(
            select(func.coalesce(func.sum(DatasetRow.size), 0)).where(DatasetRow.org_id == org_id)
        ).scalar_one()
    return int(used or 0)


def find_by_sha256(db: Database, org_id: str, sha256: str) -> DatasetRow | None:
    with db.read() as session:
        return session.execute(
            select(DatasetRow).where(DatasetRow.org_id == org_id, DatasetRow.sha256 == sha256)
        ).scalar_one_or_none()


def add_dataset(
    db: Database,
    org_id: str,
    *,
    sha256: str,
    filename: str,
    size: int,
    rows: int,
    fmt: str,
    path: Path,
) -> tuple[DatasetRow, bool]:
    """(row, created): the org's row for these bytes, inserted unless it is there already (also when
    a concurrent upload of the same bytes won the race)."""
    found = find_by_sha256(db, org_id, sha256)
    if found is not None:
        return found, False
    row = DatasetRow(
        id=new_id("ds"),
        org_id=org_id,
        sha256=sha256,
        filename=filename,
        size=size,
        rows=rows,
        format=fmt,
        path=str(path.resolve()),
        created_at=iso_now(),
    )
    try:
        with db.write() as session:
            session.add(row)
    except IntegrityError:
        found = find_by_sha256(db, org_id, sha256)
        if found is None:
            raise
        return found, False
    return row, True


def delete_dataset(db: Database, dataset_id: str) -> None:
    with db.write() as session:
        session.execute(delete(DatasetRow).where(DatasetRow.id == dataset_id))

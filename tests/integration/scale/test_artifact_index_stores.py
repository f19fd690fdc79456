"""The artifact index's upsert (artifacts_store.index_artifact) on both databases the backend runs on:
a file uploaded again replaces its row (size, sha256) instead of failing on the unique key."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from arkor.server import artifacts_store
from arkor.server._util import iso_now
from arkor.server.db import Database
from arkor.server.models import JobRow, OrgRow, ProjectRow


def _database(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Database:
    url = f"sqlite:///{tmp_path / 'arkor.db'}" if kind == "sqlite" else request.getfixturevalue("pg_database")
    db = Database(url)
    db.migrate()
    return db


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_an_artifact_uploaded_again_replaces_its_row(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    db = _database(kind, tmp_path, request)
    try:
        job_id, now = f"job_{uuid.uuid4().hex[:12]}", iso_now()
        with db.write() as session:
            session.add(
                OrgRow(
                    id="org_a",
                    slug=f"a-{uuid.uuid4().hex[:6]}",
                    name="A",
                    created_at=now,
                )
            )
            session.flush()
            session.add(ProjectRow(id="prj_a", org_id="org_a", slug="p", name="P", created_at=now))
            session.flush()
            session.add(
                JobRow(
                    id=job_id,
                    org_id="org_a",
                    project_id="prj_a",
                    name="run",
                    status="running",
                    config={"model": "arkor/tiny-test"},
                    created_at=now,
                )
            )
        artifacts_store.index_artifact(db, job_id, "final/adapter_model.safetensors", 10, "a" * 64)
        artifacts_store.index_artifact(db, job_id, "final/adapter_model.safetensors", 12, "b" * 64)
        artifacts_store.index_artifact(db, job_id, "checkpoints/step-2/adapter_config.json", 3, "c" * 64)
        rows = artifacts_store.list_artifacts(db, job_id)
        assert [(r.pathname, r.size, r.sha256[0]) for r in rows] == [
            ("checkpoints/step-2/adapter_config.json", 3, "c"),
            ("final/adapter_model.safetensors", 12, "b"),
        ]
        assert artifacts_store.files_under(db, job_id, "final") == {"final/adapter_model.safetensors": "b" * 64}
        assert artifacts_store.is_indexed(db, job_id, "checkpoints/step-2/adapter_config.json")
        assert not artifacts_store.is_indexed(db, job_id, "checkpoints/step-2")
    finally:
        db.dispose()

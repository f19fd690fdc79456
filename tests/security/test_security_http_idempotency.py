"""Idempotency keys are scoped to (org, project).

Before: the same key and body in project p2 returned p1's job.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from security_http_helpers import Caller, isolated_home, running_backend  # noqa: F401 (autouse fixture)

from arkor.server.db import _MIGRATIONS_DIR, Database


def test_the_same_key_in_another_project_makes_another_job(tmp_path: Path) -> None:
    with running_backend(tmp_path / "data") as server:
        caller = Caller(server.url, project="p1")
        caller.add_project("p2")
        key = {"Idempotency-Key": "deploy-42"}
        in_p1 = caller.submit("fake/fast", project="p1", headers=key)
        in_p2 = caller.submit("fake/fast", project="p2", headers=key)
        assert in_p1.status_code == 201 and in_p2.status_code == 201
        assert in_p2.json()["job"]["id"] != in_p1.json()["job"]["id"]
        assert in_p2.json()["job"]["projectId"] != in_p1.json()["job"]["projectId"]
        assert "Idempotent-Replayed" not in in_p2.headers
        # Within one project the key still replays.
        again = caller.submit("fake/fast", project="p2", headers=key)
        assert again.json()["job"]["id"] == in_p2.json()["job"]["id"] and again.headers["Idempotent-Replayed"] == "true"


def test_the_migration_moves_the_unique_key_to_the_project(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    with db.engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS_DIR))
        config.attributes["connection"] = connection
        command.upgrade(config, "0002_deployments")
    now = "2026-01-01T00:00:00.000000Z"
    with db.engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO orgs (id, slug, name, created_at) VALUES ('org_1', 'o', 'o', :t)"), {"t": now}
        )
        for project in ("prj_1", "prj_2"):
            connection.execute(
                sa.text("INSERT INTO projects (id, org_id, slug, name, created_at) VALUES (:p, 'org_1', :p, :p, :t)"),
                {"p": project, "t": now},
            )
        connection.execute(
            sa.text(
                "INSERT INTO jobs (id, org_id, project_id, name, status, config, created_at, idempotency_key, cancel_requested) "
                "VALUES ('job_1', 'org_1', 'prj_1', 'r', 'completed', '{}', :t, 'k', 0)"
            ),
            {"t": now},
        )
    db.migrate()
    with db.engine.begin() as connection:  # the old row survived; the same key now fits in another project
        connection.execute(
            sa.text(
                "INSERT INTO jobs (id, org_id, project_id, name, status, config, created_at, idempotency_key, cancel_requested) "
                "VALUES ('job_2', 'org_1', 'prj_2', 'r', 'queued', '{}', :t, 'k', 0)"
            ),
            {"t": now},
        )
        assert connection.execute(sa.text("SELECT count(*) FROM jobs WHERE idempotency_key = 'k'")).scalar() == 2
    db.dispose()

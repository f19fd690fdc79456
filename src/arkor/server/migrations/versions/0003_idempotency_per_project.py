"""Idempotency keys are unique per (org, project), not per org: the same key in two projects of one
org names two different requests.

Revision ID: 0003_idempotency_per_project
Revises: 0002_deployments
Create Date: 2026-12-01
"""

from alembic import op

revision = "0003_idempotency_per_project"
down_revision = "0002_deployments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint("uq_jobs_org_idempotency_key", type_="unique")
        batch.create_unique_constraint("uq_jobs_project_idempotency_key", ["org_id", "project_id", "idempotency_key"])


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint("uq_jobs_project_idempotency_key", type_="unique")
        batch.create_unique_constraint("uq_jobs_org_idempotency_key", ["org_id", "idempotency_key"])

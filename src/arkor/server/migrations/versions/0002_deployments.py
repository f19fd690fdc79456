"""Deployments and their API keys (additive).

Revision ID: 0002_deployments
Revises: 0001_initial
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_deployments"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("org_id", sa.String(40), sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("project_id", sa.String(40), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("slug", sa.String(50), nullable=False, unique=True),
        sa.Column("target", sa.JSON(), nullable=False),
        sa.Column("auth_mode", sa.String(20), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("run_retention_mode", sa.String(20), nullable=False),
        sa.Column("run_retention_days", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_deployments_project_created", "deployments", ["project_id", "created_at"])
    op.create_table(
        "deployment_keys",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("deployment_id", sa.String(40), sa.ForeignKey("deployments.id", ondelete="CASCADE"), nullable=False),
        sa.Column("label", sa.String(80), nullable=False),
        sa.Column("prefix", sa.String(20), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("last_used_at", sa.String(32), nullable=True),
    )
    op.create_index("ix_deployment_keys_deployment_id", "deployment_keys", ["deployment_id"])


def downgrade() -> None:
    op.drop_table("deployment_keys")
    op.drop_table("deployments")

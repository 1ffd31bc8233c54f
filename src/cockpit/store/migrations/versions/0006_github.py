"""github repos and webhook deliveries

Revision ID: 0006_github
Revises: 0005_window
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cockpit.store.models

revision = "0006_github"
down_revision = "0005_window"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "github_repos",
        sa.Column("full_name", sa.String(length=140), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", cockpit.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("full_name"),
    )
    op.create_table(
        "github_deliveries",
        sa.Column("delivery_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("repo", sa.String(length=140), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("fix", sa.JSON(), nullable=True),
        sa.Column("fixed_at", cockpit.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_at", cockpit.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("processed_at", cockpit.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("delivery_id"),
    )
    with op.batch_alter_table("github_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_github_deliveries_state", ["state", "received_at"])
        batch_op.create_index("ix_github_deliveries_user", ["user_id", "received_at"])


def downgrade() -> None:
    with op.batch_alter_table("github_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_github_deliveries_user")
        batch_op.drop_index("ix_github_deliveries_state")
    op.drop_table("github_deliveries")
    op.drop_table("github_repos")

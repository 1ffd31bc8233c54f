"""signup: repository URL and setup step of users, phone verification codes

Revision ID: 0007_signup
Revises: 0006_github
Create Date: 2026-11-26 13:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cockpit.store.models

revision = "0007_signup"
down_revision = "0006_github"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("repo_url", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("setup_step", sa.String(length=200), nullable=True))
    op.create_table(
        "phone_codes",
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", cockpit.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", cockpit.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("phone"),
    )


def downgrade() -> None:
    op.drop_table("phone_codes")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("setup_step")
        batch_op.drop_column("repo_url")

"""Claims with leases on GitHub deliveries and on a signup's setup (issue 16)

Revision ID: 0012_takeover
Revises: 0012_phone
Create Date: 2026-12-06 20:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_takeover"
down_revision = "0012_phone"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("github_deliveries") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("setup_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("setup_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("setup_until")
        batch.drop_column("setup_by")
    with op.batch_alter_table("github_deliveries") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")

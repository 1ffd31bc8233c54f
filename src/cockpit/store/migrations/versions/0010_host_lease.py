"""Host lease: which relay follows a user's host, and until when (one follower at a time)

Revision ID: 0010_host_lease
Revises: 0009_ops_indexes
Create Date: 2026-11-26 14:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_host_lease"
down_revision = "0009_ops_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("host_links") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("host_links") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("owner")

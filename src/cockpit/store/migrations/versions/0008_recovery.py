"""Recovery: the boot id each host last reported (a restart is told to the user once)

Revision ID: 0008_recovery
Revises: 0007_signup
Create Date: 2026-11-26 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_recovery"
down_revision = "0007_signup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("host_links") as batch:
        batch.add_column(sa.Column("host_boot", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("host_links") as batch:
        batch.drop_column("host_boot")

"""operations: heartbeats, and the links that trace a reply to its message

Revision ID: 0004_ops
Revises: 0004_secrets
Create Date: 2026-11-26 13:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cockpit.store.models

revision = "0004_ops"
down_revision = "0004_secrets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "heartbeats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=64), nullable=False),
        sa.Column("beat_at", cockpit.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("interval_seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("heartbeats", schema=None) as batch_op:
        batch_op.create_index("ix_heartbeats_beat_at", ["beat_at"], unique=False)
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("turn_id", sa.String(length=80), nullable=True))
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("inbound_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_turns_inbound_id", "inbound_messages", ["inbound_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.drop_constraint("fk_turns_inbound_id", type_="foreignkey")
        batch_op.drop_column("inbound_id")
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_column("turn_id")
    with op.batch_alter_table("heartbeats", schema=None) as batch_op:
        batch_op.drop_index("ix_heartbeats_beat_at")
    op.drop_table("heartbeats")

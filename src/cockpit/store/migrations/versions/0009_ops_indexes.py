"""indexes the report's queries need: a message's replies, and time windows

Revision ID: 0009_ops_indexes
Revises: 0008_recovery
Create Date: 2026-11-26 14:05:00
"""

from __future__ import annotations

from alembic import op

revision = "0009_ops_indexes"
down_revision = "0008_recovery"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_inbound_received_at", "inbound_messages", ["received_at"]),
    ("ix_outbound_inbound_id", "outbound_messages", ["inbound_id"]),
    ("ix_outbound_turn_id", "outbound_messages", ["turn_id"]),
    ("ix_outbound_created_at", "outbound_messages", ["created_at"]),
    ("ix_turns_inbound_id", "turns", ["inbound_id"]),
    ("ix_turns_created_at", "turns", ["created_at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)

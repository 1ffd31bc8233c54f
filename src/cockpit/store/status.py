"""The status values the store writes, one `StrEnum` per column.

Members are `str`s, so the database keeps the same strings and no migration is needed;
comparing a loaded value with a member (`row.status == OutboundStatus.HELD`) works.
"""

from __future__ import annotations

from enum import StrEnum


class OutboundStatus(StrEnum):
    """`outbound_messages.status` (the outbox's life of a row, store/outbox.py)."""

    PENDING = "pending"
    SENDING = "sending"
    UNKNOWN = "unknown"  # a send may have reached the provider: reconcile first
    HELD = "held"  # WhatsApp's 24-hour window is closed (store/window_hold.py)
    QUEUED = "queued"
    ACCEPTED = "accepted"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    UNDELIVERED = "undelivered"


class InboundState(StrEnum):
    """`inbound_messages.state`."""

    PENDING = "pending"
    DONE = "done"


class UserStatus(StrEnum):
    """`users.status`: only `active` users may message; `paused` ones are told so."""

    PENDING = "pending"
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    PAUSED = "paused"
    FAILED = "failed"  # the setup failed (web/setup.py)


class TurnState(StrEnum):
    """`turns.state`: a turn handed to a host, and how it ended."""

    SUBMITTED = "submitted"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


FINISHED_TURN = (TurnState.DONE, TurnState.FAILED, TurnState.INTERRUPTED)

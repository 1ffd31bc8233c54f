"""WhatsApp's 24-hour window in the outbox: holding rows while it is closed, and
releasing them when the user writes again (docs/whatsapp-window.md, decision 0010).

A `held` row waits in its place; the template that asks the user to reply is queued
once per closed window. The window is a fact of the user (`users.last_inbound_at`)
and of their outbound rows, so this module reads both tables; it locks the user's
row to order a hold with `inbox.accept`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from cockpit.core.clock import utcnow
from cockpit.core.messages import OutboundDraft
from cockpit.store import outbox
from cockpit.store.db import Database
from cockpit.store.models import OutboundMessage, User
from cockpit.store.outbox import OutboundRecord
from cockpit.store.status import OutboundStatus

# Makes the template that re-opens a user's closed window: (user id, phone, last
# inbound) → draft, or None when no template is configured.
Reopen = Callable[[int, str, datetime | None], OutboundDraft | None]


def window_state(db: Database, row: OutboundRecord) -> tuple[datetime | None, bool]:
    """The user's last inbound time, and whether an older row to the phone is held."""
    held = select(OutboundMessage.id).where(
        OutboundMessage.to_number == row.to,
        OutboundMessage.status == OutboundStatus.HELD,
        OutboundMessage.id < row.id,
    )
    with db.transaction() as s:
        last = s.scalar(select(User.last_inbound_at).where(User.id == row.user_id))
        return last, s.scalar(held.limit(1)) is not None


def hold(
    db: Database, row: OutboundRecord, seen: datetime | None, reason: str, reopen: Reopen
) -> bool:
    """Hold a claimed row while the window is closed, and queue the window's template.

    `seen` is the user's last inbound time the decision was made on. If the user
    has written since, the window is open again and the row goes back to pending
    instead (False). Locking the user's row orders this with `inbox.accept`, so a
    reply can never slip between the decision and the hold.
    """
    with db.transaction() as s:
        user = s.get(User, row.user_id, with_for_update={"key_share": True})
        if user is None or user.last_inbound_at != seen:
            s.execute(
                update(OutboundMessage)
                .where(outbox.still_claimed(row))
                .values(status=OutboundStatus.PENDING, next_attempt_at=utcnow(), claimed_until=None)
            )
            return False
        done = s.execute(
            update(OutboundMessage)
            .where(outbox.still_claimed(row))
            .values(status=OutboundStatus.HELD, last_error=reason, claimed_until=None)
        )
        if done.rowcount == 1:  # type: ignore[attr-defined]
            _queue_reopen(s, user, reopen, is_postgres=db.is_postgres)
        return True


def hold_refused(
    db: Database, *, row_id: int | None, sid: str, reason: str, reopen: Reopen
) -> bool:
    """A status callback says WhatsApp refused the row (outside the window, 63016):
    hold it and queue the template. False when this does not apply (no such row, no
    user, or the row has already moved on); the caller then records the status."""
    with db.transaction() as s:
        row = s.get(OutboundMessage, row_id) if row_id is not None else None
        if row is None or row.provider_sid not in (None, sid):
            row = s.scalar(select(OutboundMessage).where(OutboundMessage.provider_sid == sid))
        if row is None or row.user_id is None:
            return False
        if row.status not in (
            OutboundStatus.SENDING,
            OutboundStatus.UNKNOWN,
            OutboundStatus.ACCEPTED,
            OutboundStatus.QUEUED,
            OutboundStatus.SENT,
        ):
            return row.status == OutboundStatus.HELD  # a repeated callback changes nothing
        user = s.get(User, row.user_id, with_for_update={"key_share": True})
        if user is None:
            return False
        row.provider_sid = row.provider_sid or sid
        row.status, row.last_error, row.error_code = OutboundStatus.HELD, reason, None
        row.maybe_sent, row.claimed_until = False, None
        _queue_reopen(s, user, reopen, is_postgres=db.is_postgres)
        return True


def _queue_reopen(s: Session, user: User, reopen: Reopen, *, is_postgres: bool) -> None:
    """Queue the template of the user's current closed window (its key makes it one)."""
    draft = reopen(user.id, user.phone, user.last_inbound_at)
    if draft is not None:
        outbox.enqueue(s, [draft], is_postgres=is_postgres)


# Built once: it runs with every stored message (the webhook's hot path).
_RELEASE = (
    update(OutboundMessage)
    .where(
        OutboundMessage.to_number == bindparam("phone"),
        OutboundMessage.status == OutboundStatus.HELD,
    )
    .values(
        status=OutboundStatus.PENDING, attempts=0, next_attempt_at=bindparam("now"),
        claimed_until=None,
    )
)  # fmt: skip


def release_held(s: Session | Connection, phone: str) -> int:
    """Inside the transaction that stores the user's message: held rows become due,
    in their order, with their tries starting over. Returns how many."""
    conn = s.connection() if isinstance(s, Session) else s  # Core: no ORM objects to sync
    result = conn.execute(_RELEASE, {"phone": phone, "now": utcnow()})
    return int(result.rowcount)


def held_count(db: Database, phone: str) -> int:
    """How many messages to `phone` wait for the user to re-open the window."""
    query = select(func.count(OutboundMessage.id)).where(
        OutboundMessage.to_number == phone, OutboundMessage.status == OutboundStatus.HELD
    )
    with db.transaction() as s:
        return s.scalar(query) or 0

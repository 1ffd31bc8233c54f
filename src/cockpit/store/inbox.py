"""Queries of the `inbound_messages` table: the inbox, in arrival order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import bindparam, func, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Row

from cockpit.core.clock import utcnow
from cockpit.core.messages import Inbound, MediaRef, OutboundDraft
from cockpit.store import outbox, window_hold
from cockpit.store.db import Database
from cockpit.store.models import InboundMessage, User
from cockpit.store.status import InboundState, UserStatus


@dataclass(frozen=True)
class InboundRecord:
    id: int
    user_id: int | None
    message: Inbound
    attempts: int


def _record(row: InboundMessage | Row[Any]) -> InboundRecord:
    media = tuple(MediaRef(m["url"], m["content_type"]) for m in row.media)
    message = Inbound(
        sid=row.provider_sid,
        from_number=row.from_number,
        to=row.to_number,
        body=row.body,
        media=media,
        profile_name=row.profile_name,
        wa_id=row.wa_id,
        replied_sid=row.replied_sid,
        button_payload=row.button_payload,
    )
    return InboundRecord(row.id, row.user_id, message, row.attempts)


def _values(msg: Inbound, user_id: int) -> dict[str, Any]:
    now = utcnow()
    return {
        "provider_sid": msg.sid,
        "user_id": user_id,
        "from_number": msg.from_number,
        "to_number": msg.to,
        "body": msg.body,
        "media": [{"url": m.url, "content_type": m.content_type} for m in msg.media],
        "profile_name": msg.profile_name,
        "wa_id": msg.wa_id,
        "replied_sid": msg.replied_sid,
        "button_payload": msg.button_payload,
        "state": InboundState.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "received_at": now,
    }


# The webhook's statements, built once: its values go in as parameters, so a webhook
# builds no SQL expression (the profile showed that cost on every request).
_INSERT = {
    dialect: insert(InboundMessage).on_conflict_do_nothing().returning(InboundMessage.id)
    for dialect, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


# The lookup locks the sender's row (PostgreSQL), so a user's messages get their inbox
# ids in the order they are stored.
# FOR NO KEY UPDATE, not FOR UPDATE: it orders one user's webhooks (and the window's hold)
# just as well, but lets another transaction insert rows that point at the user (a reply's
# foreign key takes KEY SHARE). With FOR UPDATE, a retried MessageSid that waits on the
# dispatcher's update of the first copy deadlocked with that dispatcher's reply.
def _locked_sender(phone_param: str) -> Any:
    return (
        select(User.id, User.status)
        .where(User.phone == bindparam(phone_param))
        .with_for_update(key_share=True)
    )


_SENDER = _locked_sender("phone")
_TOUCH = update(User).where(User.id == bindparam("user_id")).values(last_inbound_at=bindparam("at"))


def _stored_by_one_statement() -> Any:
    """PostgreSQL: lock the sender, store their message and move their last inbound time,
    in one statement (decision 0036). It answers the sender's id and status (no row: an
    unknown number) and the stored message's id (None: not stored)."""
    # Its parameters are named apart from the columns of `users`: SQLAlchemy makes an
    # UPDATE of a table set every column whose name is a key of the parameters.
    sender = _locked_sender("sender_phone").cte("sender")
    names = list(_values(Inbound(sid="", from_number="", to="", body=""), 0))
    clash = {*names, "allowed", "sender_phone", "at"} & set(User.__table__.columns.keys())
    assert not clash, f"parameters named like columns of users: {clash}"
    picked = [
        sender.c.id
        if name == "user_id"
        else bindparam(name, type_=InboundMessage.__table__.c[name].type)
        for name in names
    ]
    stored = (
        pg_insert(InboundMessage)
        .from_select(
            names, select(*picked).where(sender.c.status == UserStatus.ACTIVE, bindparam("allowed"))
        )
        .on_conflict_do_nothing()
        .returning(InboundMessage.id, InboundMessage.user_id)
        .cte("stored")
    )
    touched = (
        update(User)
        .where(User.id == stored.c.user_id)
        .values(last_inbound_at=bindparam("at"))
        .returning(User.id)
        .cte("touched")
    )
    return (
        select(sender.c.id, sender.c.status, stored.c.id.label("stored"))
        .select_from(sender.outerjoin(stored, true()))
        .add_cte(touched)  # run for its effect: nothing reads it
    )


_STORED_BY_ONE_STATEMENT = _stored_by_one_statement()


def _insert(db: Database) -> Any:
    return _INSERT["postgresql" if db.is_postgres else "sqlite"]


def store_inbound(db: Database, msg: Inbound, user_id: int) -> bool:
    """Insert a message keyed by its sid; False when that sid was stored before."""
    with db.transaction() as s:
        stored = s.connection().execute(_insert(db), _values(msg, user_id)).first()
        return stored is not None


def accept(
    db: Database,
    msg: Inbound,
    allowlist: Sequence[str],
    refusal: OutboundDraft,
    now: datetime | None = None,
    paused: OutboundDraft | None = None,
) -> Literal["accepted", "duplicate", "refused"]:
    """Store a known, active sender's message, or queue `refusal` (`paused` instead,
    when given, for a user who paused their account).

    A stored message re-opens WhatsApp's 24-hour window at `now`: the user's last
    inbound time moves and the messages held while it was closed become due.
    """
    allowed = not allowlist or msg.from_number in allowlist
    if db.is_postgres:
        return _accept_postgres(db, msg, allowed, refusal, now or utcnow(), paused)
    with db.writing(urgent=True) as conn:  # Twilio waits for the answer
        user = conn.execute(_SENDER, {"phone": msg.from_number}).first()
        if user is None or user.status != UserStatus.ACTIVE or not allowed:
            told = _refusal(user.status if user else None, refusal, paused)
            outbox.enqueue(conn, [told], is_postgres=db.is_postgres)
            return "refused"
        stored = conn.execute(_insert(db), _values(msg, user.id)).first()
        if stored is not None:
            conn.execute(_TOUCH, {"user_id": user.id, "at": now or utcnow()})
        window_hold.release_held(conn, msg.from_number)  # on a retry too, as `_accept_postgres`
        return "accepted" if stored is not None else "duplicate"


def _refusal(
    status: str | None, refusal: OutboundDraft, paused: OutboundDraft | None
) -> OutboundDraft:
    return paused if paused and status == UserStatus.PAUSED else refusal


def _accept_postgres(
    db: Database,
    msg: Inbound,
    allowed: bool,
    refusal: OutboundDraft,
    now: datetime,
    paused: OutboundDraft | None,
) -> Literal["accepted", "duplicate", "refused"]:
    """The webhook in two round trips where a transaction took six (bench/RESULTS.md).

    The first statement commits the message by itself. Releasing held rows must be a
    statement of its own: a statement sees the rows as they were when it began, and a
    `window_hold.hold` that committed while it waited for the sender's lock would go
    unseen. Run after the lock was taken and released, it sees every hold made before
    (a later one finds the window open and holds nothing). A retry (a duplicate) releases
    again, so a relay that stopped between the two leaves nothing held.
    """
    with db.single_statements() as conn:
        values = _values(msg, 0) | {"allowed": allowed, "sender_phone": msg.from_number, "at": now}
        del values["user_id"]  # the statement takes the sender's
        user = conn.execute(_STORED_BY_ONE_STATEMENT, values).first()
        if user is None or user.status != UserStatus.ACTIVE or not allowed:
            told = _refusal(user.status if user else None, refusal, paused)
            outbox.enqueue(conn, [told], is_postgres=True)
            return "refused"
        window_hold.release_held(conn, msg.from_number)
        return "accepted" if user.stored is not None else "duplicate"


def _free(now: datetime, worker: str | None) -> Any:
    """No live claim holds the row, or `worker` holds it: a dispatcher handles one
    message at a time, so its own claim is left over from a try that failed (e.g. the
    database went away before `finish`) and may be taken again at once."""
    unclaimed = or_(InboundMessage.claimed_until.is_(None), InboundMessage.claimed_until < now)
    return unclaimed if worker is None else or_(unclaimed, InboundMessage.claimed_by == worker)


def due(
    db: Database, limit: int = 50, worker: str | None = None, *, now: datetime | None = None
) -> list[InboundRecord]:
    """Pending messages whose turn has come and that no other relay holds, oldest first.

    A message postponed (its host was down) or claimed by a live relay holds back
    its sender's later ones, so they reach the host in the order they were sent.
    """
    now = now or utcnow()
    free = _free(now, worker)
    blocking = (
        select(InboundMessage.user_id, func.min(InboundMessage.id))
        .where(
            InboundMessage.state == InboundState.PENDING,
            or_(InboundMessage.next_attempt_at > now, ~free),
        )
        .group_by(InboundMessage.user_id)
    )
    query = (
        select(InboundMessage)
        .where(
            InboundMessage.state == InboundState.PENDING,
            InboundMessage.next_attempt_at <= now,
            free,
        )
        .order_by(InboundMessage.id)
        .limit(limit)
    )
    with db.transaction() as s:
        waiting: dict[int | None, int] = {u: first for u, first in s.execute(blocking).all()}
        rows = list(s.scalars(query))
    # Two plain queries: a correlated NOT EXISTS costs more on a long inbox.
    return [_record(r) for r in rows if r.user_id not in waiting or r.id < waiting[r.user_id]]


def claim(
    db: Database,
    record: InboundRecord,
    worker: str,
    lease: float,
    *,
    now: datetime | None = None,
) -> InboundRecord | None:
    """Take `record` for handling if no live claim holds it; None when another relay won.

    A compare-and-set: of relays racing for one message, one update matches the row.
    """
    now = now or utcnow()
    stmt = (
        update(InboundMessage)
        .where(
            InboundMessage.id == record.id,
            InboundMessage.state == InboundState.PENDING,
            InboundMessage.next_attempt_at <= now,
            _free(now, worker),
        )
        .values(claimed_by=worker, claimed_until=now + timedelta(seconds=lease))
    )
    with db.single_statements() as conn:  # one round trip on PostgreSQL, as `outbox.claim`
        row = conn.execute(stmt.returning(*InboundMessage.__table__.columns)).first()
        return _record(row) if row is not None else None


def release(db: Database, inbound_id: int, worker: str) -> None:
    """Give up `worker`'s claim on a message it did not finish (the relay is stopping)."""
    with db.transaction() as s:
        s.execute(
            update(InboundMessage)
            .where(InboundMessage.id == inbound_id, InboundMessage.claimed_by == worker)
            .values(claimed_by=None, claimed_until=None)
        )


def finish(
    db: Database, inbound_id: int, drafts: Sequence[OutboundDraft], worker: str | None = None
) -> bool:
    """Mark a message handled, release its claim and queue its replies, in one transaction.

    With `worker`, only while that relay still holds the message (fencing): a relay whose
    claim lapsed and was taken over writes nothing. False when nothing was written.
    """
    still_ours = true() if worker is None else InboundMessage.claimed_by == worker
    with db.transaction() as s:
        result = s.execute(
            update(InboundMessage)
            .where(InboundMessage.id == inbound_id, still_ours)
            .values(
                state=InboundState.DONE, processed_at=utcnow(), last_error=None,
                claimed_by=None, claimed_until=None,
            )
        )  # fmt: skip
        if worker is not None and result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        outbox.enqueue(s, drafts, is_postgres=db.is_postgres)
        return True


def postpone(
    db: Database,
    inbound_id: int,
    error: str,
    next_at: datetime,
    drafts: Sequence[OutboundDraft],
    worker: str | None = None,
) -> bool:
    """Keep a message pending (unclaimed) for a later try, queueing any notice to the user.

    With `worker`, only while that relay still holds the message: after its lease
    lapsed another relay may have taken it over (or finished it), and that relay's
    claim and answer stand. False when nothing was postponed.
    """
    still_ours = true() if worker is None else InboundMessage.claimed_by == worker
    with db.transaction() as s:
        result = s.execute(
            update(InboundMessage)
            .where(
                InboundMessage.id == inbound_id,
                InboundMessage.state == InboundState.PENDING,
                still_ours,
            )
            .values(
                attempts=InboundMessage.attempts + 1, last_error=error, next_attempt_at=next_at,
                claimed_by=None, claimed_until=None,
            )
        )  # fmt: skip
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        outbox.enqueue(s, drafts, is_postgres=db.is_postgres)
        return True


def retry_now(db: Database, user_id: int, *, now: datetime | None = None) -> int:
    """Make the user's postponed messages due now (their host is back); how many."""
    with db.transaction() as s:
        result = s.execute(
            update(InboundMessage)
            .where(InboundMessage.user_id == user_id, InboundMessage.state == InboundState.PENDING)
            .values(next_attempt_at=now or utcnow())
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def count(db: Database) -> int:
    """How many inbound messages are stored."""
    with db.transaction() as s:
        return s.scalar(select(func.count(InboundMessage.id))) or 0

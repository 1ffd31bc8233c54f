"""Queries of the `outbound_messages` table: the outbox the sender drains.

A row's life: pending → sending (claimed, with a lease) → accepted (the provider
took it) → sent → delivered → read; or failed. `unknown` means a send may have
reached the provider: it is reconciled against the provider's list before any
new try. `held` means WhatsApp's 24-hour window is closed: the row waits, in
its place, until the user writes again (store/window_hold.py); a held row
does not block the template that asks the user to reply. Per recipient, only
the oldest unfinished row may be sent, so messages arrive in the order they were
written, across any number of relay processes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, Update, and_, bindparam, case, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Row
from sqlalchemy.orm import Session

from cockpit.core.clock import utcnow
from cockpit.core.messages import OutboundDraft
from cockpit.store.db import Database
from cockpit.store.models import OutboundMessage
from cockpit.store.status import OutboundStatus

# Rows in these states hold back later rows to the same recipient.
_BLOCKING = (OutboundStatus.PENDING, OutboundStatus.SENDING, OutboundStatus.UNKNOWN)
DONE = (
    OutboundStatus.SENT, OutboundStatus.DELIVERED, OutboundStatus.READ,
    OutboundStatus.FAILED, OutboundStatus.UNDELIVERED,
)  # fmt: skip
# Status callbacks only move a row forward; a late `sent` never undoes `read`.
_RANK: dict[str, int] = {
    OutboundStatus.PENDING: 0, OutboundStatus.SENDING: 0, OutboundStatus.UNKNOWN: 0,
    OutboundStatus.HELD: 0, OutboundStatus.QUEUED: 1, OutboundStatus.ACCEPTED: 1,
    OutboundStatus.SENT: 2, OutboundStatus.FAILED: 3, OutboundStatus.UNDELIVERED: 3,
    OutboundStatus.DELIVERED: 3, OutboundStatus.READ: 4,
}  # fmt: skip


@dataclass(frozen=True)
class OutboundRecord:
    id: int
    key: str
    to: str
    body: str
    media_id: str | None
    kind: str
    status: str
    attempts: int
    maybe_sent: bool
    provider_sid: str | None
    created_at: datetime
    error_code: int | None
    last_error: str | None
    user_id: int | None
    content_sid: str | None = None
    content_variables: str | None = None
    interactive: str | None = None
    turn_id: str | None = None


def outbound_record(r: OutboundMessage | Row[Any]) -> OutboundRecord:
    return OutboundRecord(
        r.id, r.idempotency_key, r.to_number, r.body, r.media_id, r.kind, r.status,
        r.attempts, r.maybe_sent, r.provider_sid, r.created_at, r.error_code, r.last_error,
        r.user_id, r.content_sid, r.content_variables, r.interactive, r.turn_id,
    )  # fmt: skip


def enqueue(
    session: Session | Connection, drafts: Sequence[OutboundDraft], *, is_postgres: bool
) -> None:
    """Add drafts to the outbox inside `session`; a known key is skipped."""
    if not drafts:
        return
    now = utcnow()
    rows = [
        {
            "idempotency_key": d.key, "user_id": d.user_id, "to_number": d.to, "body": d.body,
            "media_id": d.media_id, "kind": d.kind, "inbound_id": d.inbound_id,
            "session": d.session, "turn_id": d.turn_id, "content_sid": d.content_sid,
            "content_variables": d.content_variables, "interactive": d.interactive,
            "status": OutboundStatus.PENDING, "maybe_sent": False, "attempts": 0,
            "next_attempt_at": now + timedelta(seconds=d.hold_seconds), "created_at": now,
            "updated_at": now,
        }
        for d in drafts
    ]  # fmt: skip
    insert = pg_insert if is_postgres else sqlite_insert
    for row in rows:  # one by one: keeps ids in the drafts' order on every database
        session.execute(insert(OutboundMessage).values(**row).on_conflict_do_nothing())


MAX_MERGED = 1600  # Twilio's longest message body
MERGEABLE = ("text", "changes")  # the kinds of held row a `merge` draft may join


def place(session: Session, drafts: Sequence[OutboundDraft], *, is_postgres: bool) -> None:
    """Add a host event's drafts, economically: a `merge` draft joins the turn's held row
    when it fits, a `supersedes` draft drops the turn's held row of that kind, and any
    other draft but a picture lets the held rows go first (they would otherwise hold it
    back); a held draft (an answer, a progress line) is then held itself."""
    for draft in drafts:
        if draft.supersedes and draft.turn_id:
            _drop_held(session, draft.to, draft.turn_id, draft.supersedes)
        if draft.merge and _join_held(session, draft):
            continue
        if draft.media_id is None:
            _release_held(session, draft.to)
        enqueue(session, [draft], is_postgres=is_postgres)


def _held(to: str, now: datetime) -> Any:
    return and_(
        OutboundMessage.to_number == to, OutboundMessage.status == OutboundStatus.PENDING,
        OutboundMessage.attempts == 0, OutboundMessage.claimed_by.is_(None),
        OutboundMessage.next_attempt_at > now,
    )  # fmt: skip


def _join_held(session: Session, draft: OutboundDraft) -> bool:
    """Append `draft.body` to the turn's newest held text row if it fits; True if it did."""
    query = (
        select(OutboundMessage)
        .where(_held(draft.to, utcnow()), OutboundMessage.turn_id == draft.turn_id,
               OutboundMessage.kind.in_(MERGEABLE))
        .order_by(OutboundMessage.id.desc())
        .limit(1)
        .with_for_update()
    )  # fmt: skip
    row = session.scalars(query).first()
    if row is None or len(row.body) + 2 + len(draft.body) > MAX_MERGED:
        return False
    row.body = f"{row.body}\n\n{draft.body}"
    if not draft.hold_seconds:
        row.next_attempt_at = utcnow()
    return True


def _drop_held(session: Session, to: str, turn_id: str, kind: str) -> None:
    held = select(OutboundMessage).where(
        _held(to, utcnow()), OutboundMessage.turn_id == turn_id, OutboundMessage.kind == kind
    )
    for row in session.scalars(held):
        session.delete(row)


def _release_held(session: Session, to: str) -> None:
    now = utcnow()
    session.execute(update(OutboundMessage).where(_held(to, now)).values(next_attempt_at=now))


def drop_content(db: Database, row_id: int) -> None:
    """Send row `row_id` as its plain (numbered) text from now on, without buttons."""
    with db.transaction() as s:
        s.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == row_id)
            .values(interactive=None, content_variables=None)
        )


def last_sent_at(db: Database, to: str) -> datetime | None:
    """When the provider last accepted a message to `to`."""
    query = select(func.max(OutboundMessage.accepted_at)).where(OutboundMessage.to_number == to)
    with db.transaction() as s:
        return s.scalar(query)


def sent_after(db: Database, to: str, since: datetime) -> bool:
    """Whether a message to `to` was written after `since` (besides replies to taps)."""
    query = select(func.count(OutboundMessage.id)).where(
        OutboundMessage.to_number == to, OutboundMessage.created_at > since,
        OutboundMessage.status != OutboundStatus.FAILED,
    )  # fmt: skip
    with db.transaction() as s:
        return bool(s.scalar(query))


def enqueue_now(db: Database, drafts: Sequence[OutboundDraft]) -> None:
    """Add drafts to the outbox in a transaction of their own."""
    with db.transaction() as s:
        enqueue(s, drafts, is_postgres=db.is_postgres)


def due_heads(
    db: Database, limit: int = 100, *, now: datetime | None = None
) -> list[OutboundRecord]:
    """The oldest unfinished row of each recipient, where it may be tried now."""
    now = now or utcnow()
    blocking = or_(
        OutboundMessage.status.in_(_BLOCKING),
        and_(
            OutboundMessage.status == OutboundStatus.ACCEPTED, OutboundMessage.next_attempt_at > now
        ),
    )
    heads = select(func.min(OutboundMessage.id)).where(blocking).group_by(OutboundMessage.to_number)
    ready = or_(
        and_(OutboundMessage.status.in_((OutboundStatus.PENDING, OutboundStatus.UNKNOWN)),
             OutboundMessage.next_attempt_at <= now),
        and_(OutboundMessage.status == OutboundStatus.SENDING, OutboundMessage.claimed_until < now),
    )  # fmt: skip
    query = (
        select(OutboundMessage)
        .where(OutboundMessage.id.in_(heads), ready)
        .order_by(OutboundMessage.id)
        .limit(limit)
    )
    with db.transaction() as s:
        return [outbound_record(r) for r in s.scalars(query)]


def claim(
    db: Database,
    row: OutboundRecord,
    worker: str,
    lease: float,
    *,
    now: datetime | None = None,
) -> OutboundRecord | None:
    """Take `row` for sending if nobody else did; None when another worker won."""
    now = now or utcnow()
    expired_send = (
        row.status == OutboundStatus.SENDING
    )  # its sender died: the send may have happened
    stmt = (
        update(OutboundMessage)
        .where(
            OutboundMessage.id == row.id,
            OutboundMessage.status == row.status,
            OutboundMessage.attempts == row.attempts,
        )
        .values(
            status=OutboundStatus.SENDING,
            claimed_by=worker,
            claimed_until=now + timedelta(seconds=lease),
            attempts=OutboundMessage.attempts + 1,
            **({"maybe_sent": True} if expired_send else {}),
        )
    )
    # One statement that answers the claimed row: in autocommit on PostgreSQL one round
    # trip where a transaction with a second SELECT took four (bench/RESULTS.md).
    with db.single_statements() as conn:
        claimed = conn.execute(stmt.returning(*OutboundMessage.__table__.columns)).first()
        return outbound_record(claimed) if claimed is not None else None


def mark_accepted(
    db: Database,
    row_id: int,
    sid: str,
    status: str,
    hold: float,
    attempts: int | None = None,
    *,
    now: datetime | None = None,
) -> bool:
    """The provider took the message; later rows wait up to `hold` seconds for `sent`.

    `attempts` is the claim's token (fencing): when another relay has claimed the row
    since (its lease lapsed while this send was away), nothing is written and the answer
    is False; that relay reconciles against the provider's list, which has this message.
    """
    now = now or utcnow()
    values = {
        "provider_sid": sid,
        "accepted_at": now,
        "maybe_sent": False,
        "claimed_until": None,
        "last_error": None,
        "next_attempt_at": now + timedelta(seconds=hold),
    }
    with db.transaction() as s:
        row = s.get(OutboundMessage, row_id, with_for_update=attempts is not None)
        assert row is not None
        if attempts is not None and row.attempts != attempts:
            return False
        if (
            row.status == OutboundStatus.HELD
        ):  # a callback refused it meanwhile (outside the window)
            row.provider_sid = row.provider_sid or sid
            return True
        for key, value in values.items():
            setattr(row, key, value)
        if _RANK.get(status, 1) > _RANK.get(row.status, 0) or row.status == OutboundStatus.SENDING:
            row.status = (
                OutboundStatus.ACCEPTED
                if status
                in (OutboundStatus.QUEUED, OutboundStatus.ACCEPTED, OutboundStatus.SENDING)
                else status
            )
        if (
            row.status in (OutboundStatus.SENT, OutboundStatus.DELIVERED, OutboundStatus.READ)
            and row.sent_at is None
        ):
            row.sent_at = now
        return True


def still_claimed(row: OutboundRecord) -> Any:
    """Only the claim that made this attempt may record its outcome; a status callback
    that arrived meanwhile (or a newer claim) has already moved the row on."""
    return and_(
        OutboundMessage.id == row.id,
        OutboundMessage.status == OutboundStatus.SENDING,
        OutboundMessage.attempts == row.attempts,
    )


def mark_retry(
    db: Database, row: OutboundRecord, error: str, next_at: datetime, *, maybe_sent: bool
) -> None:
    """Try again at `next_at`; `maybe_sent` asks for reconciliation first."""
    status = OutboundStatus.UNKNOWN if maybe_sent else OutboundStatus.PENDING
    with db.transaction() as s:
        s.execute(
            update(OutboundMessage)
            .where(still_claimed(row))
            .values(
                status=status, maybe_sent=maybe_sent, last_error=error,
                next_attempt_at=next_at, claimed_until=None,
            )
        )  # fmt: skip


def mark_failed(db: Database, row: OutboundRecord, error: str, code: int | None) -> None:
    """Give up on a row: the provider refused it or every try failed."""
    with db.transaction() as s:
        s.execute(
            update(OutboundMessage)
            .where(still_claimed(row))
            .values(
                status=OutboundStatus.FAILED, last_error=error, error_code=code, claimed_until=None
            )
        )


def retry_failed(db: Database, outbound_id: int) -> bool:
    """Send a failed row again (an operator's retry); False when it is not failed.

    The row keeps its id, so it goes out before anything written after it to the
    same phone; its attempts start over.
    """
    stmt = (
        update(OutboundMessage)
        .where(
            OutboundMessage.id == outbound_id,
            OutboundMessage.status.in_((OutboundStatus.FAILED, OutboundStatus.UNDELIVERED)),
        )
        .values(
            status=OutboundStatus.PENDING, attempts=0, maybe_sent=False, error_code=None,
            next_attempt_at=utcnow(), claimed_until=None, claimed_by=None,
        )
    )  # fmt: skip
    with db.transaction() as s:
        return bool(s.execute(stmt).rowcount == 1)  # type: ignore[attr-defined]


def apply_status(
    db: Database, *, row_id: int | None, sid: str, status: str, error_code: int | None
) -> bool:
    """Record a status callback; False when no row matches. Never moves a row back.

    One UPDATE (by id, else by the provider's sid) whose expressions read the row's old
    values: a callback costs no ORM load and no read before the write. The statements are
    built once (three callbacks come for every message we send).
    """
    by_id, by_sid = _status_updates(_STATUS_SETS.get(status, ()))
    params = {
        "sid": sid, "status": status, "rank": _RANK.get(status, -1), "code": error_code,
        "now": utcnow(), "row_id": row_id,
    }  # fmt: skip
    # Each UPDATE stands alone (a row only ever moves forward), so on PostgreSQL a
    # callback is one round trip, not three: a third of the relay's statements otherwise.
    with db.single_statements() as conn:
        if row_id is not None and conn.execute(by_id, params).rowcount == 1:
            return True
        return bool(conn.execute(by_sid, params).rowcount)


# Which extra column a callback of each status sets (besides status, sid and the claim).
_STATUS_SETS: dict[str, tuple[str, ...]] = {
    OutboundStatus.SENT: ("sent_at",), OutboundStatus.DELIVERED: ("sent_at",),
    OutboundStatus.READ: ("sent_at",), OutboundStatus.FAILED: ("error_code",),
    OutboundStatus.UNDELIVERED: ("error_code",),
}  # fmt: skip


@functools.cache
def _status_updates(extra: tuple[str, ...]) -> tuple[Update, Update]:
    """The UPDATE by row id and the one by the provider's sid, for callbacks that also set
    `extra`; the callback's values are parameters."""
    row = OutboundMessage
    # Typed as their columns: inside CASE nothing else tells SQLAlchemy how to store them.
    sid = bindparam("sid", type_=row.provider_sid.type)
    new_status = bindparam("status", type_=row.status.type)
    now, code = bindparam("now", type_=row.sent_at.type), bindparam("code", type_=Integer())
    early = row.status.in_((OutboundStatus.SENDING, OutboundStatus.UNKNOWN, OutboundStatus.PENDING))
    advances = case(_RANK, value=row.status, else_=0) < bindparam("rank", type_=Integer())
    values: dict[Any, Any] = {
        row.provider_sid: func.coalesce(row.provider_sid, sid),
        # The callback proves the provider has the message: no retry may follow.
        row.maybe_sent: case((early, False), else_=row.maybe_sent),
        row.claimed_until: case((early, None), else_=row.claimed_until),
        row.status: case((advances, new_status), else_=row.status),
    }
    if "sent_at" in extra:
        values[row.sent_at] = case((and_(advances, row.sent_at.is_(None)), now),
                                   else_=row.sent_at)  # fmt: skip
    if "error_code" in extra:
        values[row.error_code] = case((advances, code), else_=row.error_code)
    mine = or_(row.provider_sid.is_(None), row.provider_sid == sid)
    by_id = update(row).where(row.id == bindparam("row_id"), mine).values(values)
    by_sid = update(row).where(row.provider_sid == sid).values(values)
    return by_id, by_sid


def stale_accepted(
    db: Database, older_than: datetime, after_id: int, limit: int
) -> list[OutboundRecord]:
    """Rows still `accepted` since before `older_than`, by id after `after_id`: their
    status callbacks may have been lost, so the provider is asked instead."""
    query = (
        select(OutboundMessage)
        .where(
            OutboundMessage.status == OutboundStatus.ACCEPTED,
            OutboundMessage.accepted_at < older_than,
            OutboundMessage.provider_sid.is_not(None),
            OutboundMessage.id > after_id,
        )
        .order_by(OutboundMessage.id)
        .limit(limit)
    )
    with db.transaction() as s:
        return [outbound_record(r) for r in s.scalars(query)]


def claim_lookup(
    db: Database, row_id: int, worker: str, lease: float, *, now: datetime | None = None
) -> bool:
    """Take an `accepted` row for a status look-up, so one relay asks the provider about
    it; False while another relay's look-up claim is live (or the row moved on)."""
    now = now or utcnow()
    stmt = (
        update(OutboundMessage)
        .where(
            OutboundMessage.id == row_id,
            OutboundMessage.status == OutboundStatus.ACCEPTED,
            or_(OutboundMessage.claimed_until.is_(None), OutboundMessage.claimed_until < now),
        )
        .values(claimed_by=worker, claimed_until=now + timedelta(seconds=lease))
    )
    with db.transaction() as s:
        return bool(s.execute(stmt).rowcount == 1)  # type: ignore[attr-defined]


def end_lookup(db: Database, row_id: int, worker: str) -> None:
    """The status look-up of a row is over: its claim ends (if it is still ours)."""
    with db.transaction() as s:
        s.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == row_id, OutboundMessage.claimed_by == worker)
            .values(claimed_until=None)
        )


def sids_in_use(db: Database, sids: Iterable[str], *, besides: int) -> set[str]:
    """Which of these provider sids already belong to an outbound row other than `besides`.

    The row's own sid counts as free: a status callback or a slow former claimant may
    have recorded it after this claim was taken, and it is the send being looked for.
    """
    wanted = list(sids)
    if not wanted:
        return set()
    query = select(OutboundMessage.provider_sid).where(
        OutboundMessage.provider_sid.in_(wanted), OutboundMessage.id != besides
    )
    with db.transaction() as s:
        return {sid for sid in s.scalars(query) if sid}


def for_recipient(db: Database, phone: str) -> list[OutboundRecord]:
    """Every outbound row to `phone`, oldest first."""
    query = select(OutboundMessage).where(OutboundMessage.to_number == phone)
    with db.transaction() as s:
        return [outbound_record(r) for r in s.scalars(query.order_by(OutboundMessage.id))]


def session_of_message(db: Database, provider_sid: str) -> str | None:
    """The session that wrote the outbound message with this provider sid."""
    query = select(OutboundMessage.session).where(OutboundMessage.provider_sid == provider_sid)
    with db.transaction() as s:
        return s.scalar(query)


def exists(db: Database, key: str) -> bool:
    """Whether a row with this idempotency key was ever written."""
    query = select(OutboundMessage.id).where(OutboundMessage.idempotency_key == key)
    with db.transaction() as s:
        return s.scalar(query) is not None


def pending_count(db: Database) -> int:
    """How many rows are not yet finished."""
    query = select(func.count(OutboundMessage.id)).where(OutboundMessage.status.not_in(DONE))
    with db.transaction() as s:
        return s.scalar(query) or 0

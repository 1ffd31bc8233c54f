"""Read-only figures for operators and users: the report (`cockpit report`), the admin
pages and `/status`.

The one module whose queries cross tables: an inbound message is answered when an
outbound row (directly, or through the host turn it started) reached the phone; an
outbound row is misrouted when its number differs from the inbound sender's, the
turn's user's or its own user's. Each table's own module (outbox, inbox, hosts, …)
queries only its table; what reads several lives here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased

from cockpit.store.db import Database
from cockpit.store.models import InboundMessage, OutboundMessage, Turn, User
from cockpit.store.outbox import OutboundRecord, outbound_record
from cockpit.store.status import OutboundStatus

FAILED = (OutboundStatus.FAILED, OutboundStatus.UNDELIVERED)  # the states an operator may retry


@dataclass(frozen=True)
class Misroute:
    """An outbound row sent to another number than the one of the person it answers."""

    outbound_id: int
    to: str
    expected: str
    reason: str


def outbound_between(db: Database, since: datetime, until: datetime) -> int:
    """How many outbound rows were written in [since, until)."""
    query = select(func.count(OutboundMessage.id)).where(
        OutboundMessage.created_at >= since, OutboundMessage.created_at < until
    )
    with db.transaction() as s:
        return s.scalar(query) or 0


def failed_between(db: Database, since: datetime, until: datetime) -> list[OutboundRecord]:
    """Rows written in [since, until) that could not be delivered, oldest first."""
    query = (
        select(OutboundMessage)
        .where(
            OutboundMessage.created_at >= since,
            OutboundMessage.created_at < until,
            OutboundMessage.status.in_(FAILED),
        )
        .order_by(OutboundMessage.id)
    )
    with db.transaction() as s:
        return [outbound_record(r) for r in s.scalars(query)]


def misrouted(db: Database, since: datetime, until: datetime) -> list[Misroute]:
    """Rows written in [since, until) addressed to someone other than whom they answer.

    Three recorded facts each name the rightful recipient: the inbound message a row
    answers (its sender), the host turn it reports on (the turn's user) and the user
    the row was written for. A row whose number differs from any of them is misrouted.
    """
    inbound, turn = aliased(InboundMessage), aliased(Turn)
    turn_user, row_user = aliased(User), aliased(User)
    o = OutboundMessage
    query = (
        select(o.id, o.to_number, inbound.from_number, turn_user.phone, row_user.phone)
        .outerjoin(inbound, inbound.id == o.inbound_id)
        .outerjoin(turn, turn.id == o.turn_id)
        .outerjoin(turn_user, turn_user.id == turn.user_id)
        .outerjoin(row_user, row_user.id == o.user_id)
        .where(o.created_at >= since, o.created_at < until)
        .where(
            or_(
                and_(inbound.id.is_not(None), o.to_number != inbound.from_number),
                and_(turn_user.id.is_not(None), o.to_number != turn_user.phone),
                and_(row_user.id.is_not(None), o.to_number != row_user.phone),
            )
        )
        .order_by(o.id)
    )
    with db.transaction() as s:
        rows = s.execute(query).all()
    found = []
    for oid, to, sender, turn_owner, owner in rows:
        reason, expected = next(
            (why, phone)
            for why, phone in (("message", sender), ("turn", turn_owner), ("user", owner))
            if phone is not None and phone != to
        )
        found.append(Misroute(oid, to, expected, reason))
    return found


def recent_outbound(db: Database, limit: int = 50) -> list[OutboundRecord]:
    """The latest rows, newest first (the admin page)."""
    query = select(OutboundMessage).order_by(OutboundMessage.id.desc()).limit(limit)
    with db.transaction() as s:
        return [outbound_record(r) for r in s.scalars(query)]


def failed_outbound(db: Database, limit: int = 100) -> list[OutboundRecord]:
    """The latest rows that could not be delivered, newest first."""
    query = (
        select(OutboundMessage)
        .where(OutboundMessage.status.in_(FAILED))
        .order_by(OutboundMessage.id.desc())
        .limit(limit)
    )
    with db.transaction() as s:
        return [outbound_record(r) for r in s.scalars(query)]


def outbound_status_counts(db: Database) -> dict[str, int]:
    """How many rows are in each status."""
    query = select(OutboundMessage.status, func.count(OutboundMessage.id)).group_by(
        OutboundMessage.status
    )
    with db.transaction() as s:
        return {status: n for status, n in s.execute(query).all()}


def latest_failure(db: Database, phone: str) -> OutboundRecord | None:
    """The most recent message to `phone` that could not be delivered, if any."""
    query = (
        select(OutboundMessage)
        .where(
            OutboundMessage.to_number == phone,
            OutboundMessage.status.in_((OutboundStatus.FAILED, OutboundStatus.UNDELIVERED)),
        )
        .order_by(OutboundMessage.id.desc())
        .limit(1)
    )
    with db.transaction() as s:
        row = s.scalar(query)
        return outbound_record(row) if row is not None else None


def failed_count(db: Database, phone: str) -> int:
    """How many messages to `phone` could not be delivered."""
    query = select(func.count(OutboundMessage.id)).where(
        OutboundMessage.to_number == phone,
        OutboundMessage.status.in_((OutboundStatus.FAILED, OutboundStatus.UNDELIVERED)),
    )
    with db.transaction() as s:
        return s.scalar(query) or 0


# Replies that only say "working on it" do not answer a message.
NOT_AN_ANSWER = ("ack", "progress", "board")
REACHED_PHONE = (OutboundStatus.SENT, OutboundStatus.DELIVERED, OutboundStatus.READ)


@dataclass(frozen=True)
class InboundSummary:
    id: int
    sid: str
    user_id: int | None
    from_number: str
    body: str
    state: str
    received_at: datetime


def _answered() -> Any:
    """True for an inbound row that some reply reached the phone for.

    A reply answers a message when it names the message (`inbound_id`: relay
    answers, echoes) or the turn the message started (`turn_id`: the host's events).
    """
    reached = and_(
        OutboundMessage.status.in_(REACHED_PHONE), OutboundMessage.kind.not_in(NOT_AN_ANSWER)
    )
    direct = select(OutboundMessage.id).where(
        OutboundMessage.inbound_id == InboundMessage.id, reached
    )
    through_turn = (
        select(OutboundMessage.id)
        .join(Turn, Turn.id == OutboundMessage.turn_id)
        .where(Turn.inbound_id == InboundMessage.id, reached)
    )
    return or_(direct.exists(), through_turn.exists())


def unanswered(db: Database, since: datetime, until: datetime) -> list[InboundSummary]:
    """Messages from users received in [since, until) that no answer has reached yet."""
    query = (
        select(InboundMessage)
        .where(
            InboundMessage.received_at >= since,
            InboundMessage.received_at < until,
            InboundMessage.user_id.is_not(None),
            ~_answered(),
        )
        .order_by(InboundMessage.id)
    )
    with db.transaction() as s:
        return [
            InboundSummary(r.id, r.provider_sid, r.user_id, r.from_number, r.body, r.state,
                             r.received_at)
            for r in s.scalars(query)
        ]  # fmt: skip


def inbound_between(db: Database, since: datetime, until: datetime) -> int:
    """How many messages from users arrived in [since, until)."""
    query = select(func.count(InboundMessage.id)).where(
        InboundMessage.received_at >= since,
        InboundMessage.received_at < until,
        InboundMessage.user_id.is_not(None),
    )
    with db.transaction() as s:
        return s.scalar(query) or 0


def active_users(db: Database, since: datetime, until: datetime) -> set[int]:
    """Users who sent at least one message in [since, until)."""
    query = (
        select(InboundMessage.user_id)
        .distinct()
        .where(
            InboundMessage.received_at >= since,
            InboundMessage.received_at < until,
            InboundMessage.user_id.is_not(None),
        )
    )
    with db.transaction() as s:
        return {uid for uid in s.scalars(query) if uid is not None}


def recent_inbound(db: Database, limit: int = 50) -> list[InboundSummary]:
    """The latest messages in, newest first (the admin page)."""
    query = select(InboundMessage).order_by(InboundMessage.id.desc()).limit(limit)
    with db.transaction() as s:
        return [
            InboundSummary(r.id, r.provider_sid, r.user_id, r.from_number, r.body, r.state,
                             r.received_at)
            for r in s.scalars(query)
        ]  # fmt: skip


@dataclass(frozen=True)
class TurnFact:
    """What the report needs of one turn."""

    user_id: int
    session: str
    state: str
    cost_usd: float | None
    created_at: datetime


def turns_between(db: Database, since: datetime, until: datetime) -> list[TurnFact]:
    """Every user's turns started in [since, until), oldest first."""
    query = (
        select(Turn.user_id, Turn.session, Turn.state, Turn.cost_usd, Turn.created_at)
        .where(Turn.created_at >= since, Turn.created_at < until)
        .order_by(Turn.created_at, Turn.id)
    )
    with db.transaction() as s:
        return [TurnFact(*row) for row in s.execute(query).all()]

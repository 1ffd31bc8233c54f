"""Queries of `sessions` and the per-session views of turns: lists, history, cost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from cockpit.core.clock import utcnow
from cockpit.store.db import Database
from cockpit.store.models import ChatSession, HostLink, Turn

DEFAULT_SESSION = "main"


@dataclass(frozen=True)
class SessionRecord:
    number: int
    name: str
    current: bool


@dataclass(frozen=True)
class CostSummary:
    today: float
    week: float
    per_session: dict[str, float]


def ensure(db: Database, user_id: int, name: str) -> bool:
    """Make session `name` exist for the user; True when it is new."""
    try:
        with db.transaction() as s:
            if s.scalar(select(ChatSession.id).where(
                ChatSession.user_id == user_id, ChatSession.name == name
            )) is not None:  # fmt: skip
                return False
            s.add(ChatSession(user_id=user_id, name=name))
            return True
    except IntegrityError:
        return False


def listed(db: Database, user_id: int) -> list[SessionRecord]:
    """The user's sessions in creation order, numbered from 1; `main` always exists."""
    ensure(db, user_id, DEFAULT_SESSION)
    with db.transaction() as s:
        link = s.get(HostLink, user_id)
        current = link.session if link else DEFAULT_SESSION
        rows = s.scalars(
            select(ChatSession).where(ChatSession.user_id == user_id).order_by(ChatSession.id)
        )
        return [SessionRecord(i, r.name, r.name == current) for i, r in enumerate(rows, 1)]


def set_current(db: Database, user_id: int, name: str) -> None:
    """Make `name` the session new messages go to."""
    ensure(db, user_id, name)
    with db.transaction() as s:
        link = s.get(HostLink, user_id)
        if link is None:
            s.add(HostLink(user_id=user_id, cursor=0, session=name))
        else:
            link.session = name


def count(db: Database, user_id: int) -> int:
    """How many sessions the user has."""
    query = select(func.count(ChatSession.id)).where(ChatSession.user_id == user_id)
    with db.transaction() as s:
        return s.scalar(query) or 0


def cost(db: Database, user_id: int, now: datetime | None = None) -> CostSummary:
    """Recorded spend: since midnight UTC, over the last 7 days, and per session."""
    now = now or utcnow()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    with db.transaction() as s:
        rows = s.execute(
            select(Turn.session, Turn.cost_usd, Turn.created_at).where(
                Turn.user_id == user_id, Turn.cost_usd.is_not(None)
            )
        ).all()
    spends: list[tuple[str, float, datetime]] = [(n, float(c or 0.0), at) for n, c, at in rows]
    per_session: dict[str, float] = {}
    for session, spent, _ in spends:
        per_session[session] = per_session.get(session, 0.0) + spent
    today = sum(spent for _, spent, at in spends if at >= midnight)
    week = sum(spent for _, spent, at in spends if at >= now - timedelta(days=7))
    return CostSummary(today, week, per_session)


def latest_states(db: Database, user_id: int) -> list[tuple[str, str | None]]:
    """Each session with the state of its latest task (None before any), in creation order."""
    names = [r.name for r in listed(db, user_id)]
    with db.transaction() as s:
        states = []
        for name in names:
            state = s.scalar(
                select(Turn.state)
                .where(Turn.user_id == user_id, Turn.session == name)
                .order_by(Turn.created_at.desc())
                .limit(1)
            )
            states.append((name, state))
        return states

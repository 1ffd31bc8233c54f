"""Queries of the `heartbeats` table: the health checks relays record, for uptime."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from cockpit.core.clock import utcnow
from cockpit.store.db import Database
from cockpit.store.models import Heartbeat


@dataclass(frozen=True)
class Beat:
    at: datetime
    interval: float


def record(db: Database, worker: str, interval: float) -> None:
    """Note that relay `worker` is healthy now and will check again in `interval` seconds."""
    with db.transaction() as s:
        s.add(Heartbeat(worker=worker, beat_at=utcnow(), interval_seconds=interval))


def between(db: Database, since: datetime, until: datetime) -> list[Beat]:
    """Every beat in [since, until), plus the last one before `since`, oldest first.

    The earlier beat matters: it may still cover the window's first moments.
    """
    before = select(Heartbeat).where(Heartbeat.beat_at < since).order_by(Heartbeat.beat_at.desc())
    inside = (
        select(Heartbeat)
        .where(Heartbeat.beat_at >= since, Heartbeat.beat_at < until)
        .order_by(Heartbeat.beat_at)
    )
    with db.transaction() as s:
        first = s.scalars(before.limit(1)).first()
        rows = ([first] if first else []) + list(s.scalars(inside))
        return [Beat(r.beat_at, r.interval_seconds) for r in rows]


def first_at(db: Database) -> datetime | None:
    """When the first health check was ever recorded (the start of measurable uptime)."""
    with db.transaction() as s:
        return s.scalar(select(func.min(Heartbeat.beat_at)))


def last_at(db: Database) -> datetime | None:
    """When the latest health check was recorded."""
    with db.transaction() as s:
        return s.scalar(select(func.max(Heartbeat.beat_at)))

"""Queries of `throttle_hits`: rate limits shared by every relay on one database.

A limit is a bucket name (`signup:address:203.0.113.7`) and at most `count` hits in
the last `seconds`. Checking several buckets and counting the attempt happen in one
transaction, so parallel requests cannot all slip under the limit on PostgreSQL
(rows of the buckets are locked) nor on SQLite (one writer at a time).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import delete, func, select

from cockpit.core.clock import utcnow
from cockpit.store.db import Database
from cockpit.store.models import ThrottleHit

KEEP_SECONDS = 86400  # hits older than this are pruned when new ones are counted


def hit(db: Database, buckets: Sequence[tuple[str, int, float]]) -> bool:
    """Count one attempt in every bucket `(name, count, seconds)`; False (nothing counted)
    when any of them already holds `count` hits within its last `seconds`."""
    now = utcnow()
    with db.transaction() as s:
        if db.is_postgres:  # serialize counters of the same buckets across relays
            for name, _, _ in sorted(buckets):
                s.execute(select(func.pg_advisory_xact_lock(func.hashtext(name))))
        for name, count, seconds in buckets:
            since = now - timedelta(seconds=seconds)
            used = s.scalar(
                select(func.count()).where(ThrottleHit.bucket == name, ThrottleHit.at > since)
            )
            if (used or 0) >= count:
                return False
        s.add_all([ThrottleHit(bucket=name, at=now) for name, _, _ in buckets])
        s.execute(delete(ThrottleHit).where(ThrottleHit.at < now - timedelta(seconds=KEEP_SECONDS)))
        return True

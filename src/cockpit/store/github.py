"""Queries of `github_repos` and `github_deliveries`: which user a repository's webhooks
reach, and each verified delivery (kept so a redelivery is a no-op).

A repository's webhook secret is one of its user's secrets (`store/secrets.py`,
encrypted at rest), named after the repository.
"""

from __future__ import annotations

import hashlib
import secrets as random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from cockpit.core.clock import utcnow
from cockpit.core.github_events import github_repo
from cockpit.core.messages import OutboundDraft
from cockpit.store import outbox, secrets, users
from cockpit.store.db import Database
from cockpit.store.models import GitHubDelivery, GitHubRepo

GITHUB_TOKEN = secrets.GITHUB_TOKEN


@dataclass(frozen=True)
class DeliveryRecord:
    delivery_id: str
    user_id: int
    repo: str
    event: str
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class FailureRecord:
    delivery_id: str
    fix: dict[str, Any]
    received_at: datetime


def secret_name(full_name: str) -> str:
    """The user-secret name of a repository's webhook secret (fits the 64-character name)."""
    return "github_webhook:" + hashlib.sha256(full_name.lower().encode()).hexdigest()[:32]


def link_repo(db: Database, user_id: int, full_name: str, *, key: secrets.SecretKey) -> str:
    """Map `owner/name` to the user with a fresh webhook secret; the secret (shown once)."""
    full_name = full_name.strip()
    with db.transaction() as s:
        row = s.get(GitHubRepo, full_name)
        if row is None:
            s.add(GitHubRepo(full_name=full_name, user_id=user_id))
        else:
            row.user_id = user_id
    secret = random.token_hex(32)
    secrets.put_secret(db, user_id, secret_name(full_name), secret, key=key)
    return secret


def repo_owner(db: Database, full_name: str) -> int | None:
    """The user a repository's webhooks reach, if it is linked."""
    with db.transaction() as s:
        row = s.get(GitHubRepo, full_name)
        return row.user_id if row else None


def webhook_secret(
    db: Database, user_id: int, full_name: str, *, key: secrets.SecretKey
) -> str | None:
    """The repository's webhook secret, decrypted."""
    return secrets.get_secret(db, user_id, secret_name(full_name), key=key)


def repos_of(db: Database, user_id: int) -> list[str]:
    """The repositories linked to a user, oldest first."""
    query = select(GitHubRepo.full_name).where(GitHubRepo.user_id == user_id)
    with db.transaction() as s:
        return list(s.scalars(query.order_by(GitHubRepo.created_at, GitHubRepo.full_name)))


def user_repos(db: Database, user_id: int) -> list[str]:
    """The user's GitHub repositories: the linked ones, then the one chosen at signup."""
    repos = repos_of(db, user_id)
    user = users.find_by_id(db, user_id)
    chosen = github_repo(user.repo_url) if user is not None else None
    if chosen and chosen.lower() not in {r.lower() for r in repos}:
        repos.append(chosen)
    return repos


def record_delivery(
    db: Database, delivery_id: str, user_id: int, repo: str, event: str, payload: dict[str, Any]
) -> bool:
    """Keep a verified delivery; False when this delivery id was seen before."""
    insert = pg_insert if db.is_postgres else sqlite_insert
    row = {
        "delivery_id": delivery_id, "user_id": user_id, "repo": repo, "event": event,
        "payload": payload, "state": "pending", "attempts": 0, "received_at": utcnow(),
    }  # fmt: skip
    with db.transaction() as s:
        stmt = insert(GitHubDelivery).values(**row).on_conflict_do_nothing()
        return s.scalar(stmt.returning(GitHubDelivery.delivery_id)) is not None


def _unclaimed(now: datetime) -> Any:
    return or_(GitHubDelivery.claimed_until.is_(None), GitHubDelivery.claimed_until < now)


def due(db: Database, limit: int = 20) -> list[DeliveryRecord]:
    """Deliveries not yet turned into messages that no relay works on, oldest first."""
    query = (
        select(GitHubDelivery)
        .where(GitHubDelivery.state == "pending", _unclaimed(utcnow()))
        .order_by(GitHubDelivery.received_at)
        .limit(limit)
    )
    with db.transaction() as s:
        return [
            DeliveryRecord(r.delivery_id, r.user_id, r.repo, r.event, r.payload, r.attempts)
            for r in s.scalars(query)
        ]


def claim(db: Database, delivery_id: str, worker: str, lease: float) -> bool:
    """Take a pending delivery for handling (a compare-and-set); False when another relay
    holds a live claim on it or it is done."""
    now = utcnow()
    stmt = (
        update(GitHubDelivery)
        .where(
            GitHubDelivery.delivery_id == delivery_id,
            GitHubDelivery.state == "pending",
            or_(_unclaimed(now), GitHubDelivery.claimed_by == worker),
        )
        .values(claimed_by=worker, claimed_until=now + timedelta(seconds=lease))
    )
    with db.transaction() as s:
        return bool(getattr(s.execute(stmt), "rowcount", 0) == 1)


def finish(
    db: Database,
    delivery_id: str,
    drafts: Sequence[OutboundDraft],
    fix: dict[str, Any] | None,
    worker: str | None = None,
) -> bool:
    """The delivery's messages go to the outbox in the same transaction that closes it;
    False when another relay closed it first (its row is locked while we look), or, with
    `worker`, took it over after this relay's claim lapsed (fencing)."""
    with db.transaction() as s:
        row = s.get(GitHubDelivery, delivery_id, with_for_update=True)
        if row is None or row.state != "pending":
            return False
        if worker is not None and row.claimed_by != worker:
            return False
        row.state, row.fix, row.processed_at = "done", fix, utcnow()
        row.claimed_by, row.claimed_until = None, None
        outbox.enqueue(s, drafts, is_postgres=db.is_postgres)
        return True


def postpone(db: Database, delivery_id: str, error: str, *, give_up: bool) -> None:
    """Count a failed try; after too many, stop trying (the row keeps the error)."""
    with db.transaction() as s:
        row = s.get(GitHubDelivery, delivery_id)
        if row is not None:
            row.attempts += 1
            row.last_error = error[:500]
            row.claimed_by, row.claimed_until = None, None
            if give_up:
                row.state = "failed"


def last_failure(db: Database, user_id: int) -> FailureRecord | None:
    """The user's newest failure that `fix` has not taken yet."""
    query = (
        select(GitHubDelivery)
        .where(
            GitHubDelivery.user_id == user_id,
            GitHubDelivery.fix.is_not(None),
            GitHubDelivery.fixed_at.is_(None),
        )
        .order_by(GitHubDelivery.received_at.desc())
        .limit(1)
    )
    with db.transaction() as s:
        row = s.scalar(query)
        if row is None or not row.fix:
            return None
        return FailureRecord(row.delivery_id, row.fix, row.received_at)


def take_failure(db: Database, delivery_id: str) -> bool:
    """Mark a failure as being fixed; False when another `fix` took it first."""
    stmt = (
        update(GitHubDelivery)
        .where(GitHubDelivery.delivery_id == delivery_id, GitHubDelivery.fixed_at.is_(None))
        .values(fixed_at=utcnow())
    )
    with db.transaction() as s:
        return bool(getattr(s.execute(stmt), "rowcount", 0))


def delivery_count(db: Database) -> int:
    """How many deliveries are stored (for tests and /admin)."""
    with db.transaction() as s:
        return s.scalar(select(func.count(GitHubDelivery.delivery_id))) or 0

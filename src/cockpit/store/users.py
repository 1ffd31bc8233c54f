"""Queries of the `users` table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from cockpit.core.phone import normalize_e164
from cockpit.store.db import Database
from cockpit.store.models import User


@dataclass(frozen=True)
class UserRecord:
    id: int
    phone: str
    name: str
    status: str
    repo_path: str | None
    repo_url: str | None = None
    setup_step: str | None = None


def _record(user: User) -> UserRecord:
    return UserRecord(
        user.id, user.phone, user.name, user.status, user.repo_path, user.repo_url,
        user.setup_step,
    )  # fmt: skip


class UserExistsError(ValueError):
    """A user with that phone number is already registered."""


def add_user(
    db: Database,
    phone: str,
    name: str,
    repo_path: str | None = None,
    *,
    status: str = "active",
    last_inbound_at: datetime | None = None,
) -> UserRecord:
    """Register a user; raise UserExistsError when the number is taken.

    Signup registers people as `pending` (not yet allowed to message) and activates
    them once their host is ready; `paused` users are refused like unknown ones.
    `last_inbound_at`: when the person last wrote on WhatsApp (their proof of the
    number, which opened the 24-hour window).
    """
    user = User(phone=normalize_e164(phone), name=name, status=status, repo_path=repo_path,
                last_inbound_at=last_inbound_at)  # fmt: skip
    try:
        with db.transaction() as s:
            s.add(user)
            s.flush()
            return _record(user)
    except IntegrityError:
        raise UserExistsError(f"{user.phone} is already registered") from None


def find_by_phone(db: Database, phone: str) -> UserRecord | None:
    """The user with this number, or None."""
    with db.transaction() as s:
        user = s.scalar(select(User).where(User.phone == phone))
        return _record(user) if user else None


def find_by_id(db: Database, user_id: int) -> UserRecord | None:
    """The user with this id, or None."""
    with db.transaction() as s:
        user = s.get(User, user_id)
        return _record(user) if user else None


def list_users(db: Database) -> list[UserRecord]:
    """Every registered user, oldest first."""
    with db.transaction() as s:
        return [_record(u) for u in s.scalars(select(User).order_by(User.id))]


def update_user(db: Database, user_id: int, **values: str | None) -> None:
    """Change some of `name`, `status`, `repo_url`, `setup_step` of a user."""
    allowed = {"name", "status", "repo_url", "setup_step"}
    if not values.keys() <= allowed:
        raise ValueError(f"cannot update {sorted(values.keys() - allowed)}")
    with db.transaction() as s:
        s.execute(update(User).where(User.id == user_id).values(**values))


def delete_user(db: Database, user_id: int) -> None:
    """Remove a user; their hosts' rows, turns and secrets go with them (ON DELETE CASCADE)."""
    with db.transaction() as s:
        s.execute(delete(User).where(User.id == user_id))

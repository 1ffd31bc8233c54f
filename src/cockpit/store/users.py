"""Queries of the `users` table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from cockpit.core.clock import utcnow
from cockpit.core.phone import normalize_e164
from cockpit.store.db import Database
from cockpit.store.models import User
from cockpit.store.status import UserStatus


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
    status: str = UserStatus.ACTIVE,
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


def update_user(db: Database, /, user_id: int, **values: str | None) -> None:
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


def start_setup(
    db: Database,
    user_id: int,
    worker: str,
    lease: float,
    step: str,
    *,
    now: datetime | None = None,
) -> None:
    """The signup was submitted: the user is `provisioning` and relay `worker` runs the
    setup, under a lease its heartbeat renews (store/leases.py)."""
    until = (now or utcnow()) + timedelta(seconds=lease)
    with db.transaction() as s:
        s.execute(
            update(User)
            .where(User.id == user_id)
            .values(
                status=UserStatus.PROVISIONING, setup_step=step, setup_by=worker, setup_until=until
            )
        )


def setup_progress(
    db: Database, user_id: int, worker: str, *, step: str, status: str, done: bool = False
) -> bool:
    """Record a step of the setup `worker` runs; False (nothing written) when another relay
    has taken the setup over since (fencing). `done` ends the claim."""
    values: dict[str, object] = {"status": status, "setup_step": step}
    if done:
        values |= {"setup_by": None, "setup_until": None}
    with db.transaction() as s:
        result = s.execute(
            update(User).where(User.id == user_id, User.setup_by == worker).values(**values)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def release_setup(db: Database, user_id: int, worker: str) -> None:
    """Hand a setup back (the relay is stopping): another relay goes on with it at once."""
    with db.transaction() as s:
        s.execute(
            update(User)
            .where(User.id == user_id, User.setup_by == worker)
            .values(setup_by=None, setup_until=None)
        )


def take_stalled_setup(
    db: Database, worker: str, lease: float, *, now: datetime | None = None
) -> UserRecord | None:
    """Claim one signup left at `provisioning` by a relay that died or stopped (its lease
    lapsed or was handed back), to finish it here; None when there is none."""
    now = now or utcnow()
    free = or_(User.setup_until.is_(None), User.setup_until < now)
    with db.transaction() as s:
        for user_id in list(
            s.scalars(select(User.id).where(User.status == UserStatus.PROVISIONING, free))
        ):
            taken = s.execute(
                update(User)
                .where(User.id == user_id, User.status == UserStatus.PROVISIONING, free)
                .values(setup_by=worker, setup_until=now + timedelta(seconds=lease))
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                user = s.get(User, user_id)
                assert user is not None
                return _record(user)
    return None

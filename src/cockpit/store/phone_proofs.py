"""Queries of `phone_proofs`: click-to-chat codes, proven by the phone's own WhatsApp message.

The page shows a code and a `wa.me` link; the person sends the code from WhatsApp.
The relay's inbound path finds the code's HMAC (bound to the sender's number) here
before it refuses strangers, marks it verified and opens the number's 24-hour
window; the page then takes the proof (single use) and moves on. Only the HMAC is
stored. At most `PROOFS_PER_PHONE` codes live per number (older ones lapse).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from cockpit.core.clock import utcnow
from cockpit.core.messages import OutboundDraft
from cockpit.core.signup import PROOFS_PER_PHONE
from cockpit.store import outbox, window_hold
from cockpit.store.db import Database
from cockpit.store.models import PhoneProof, User
from cockpit.store.status import UserStatus


@dataclass(frozen=True)
class Proven:
    """A code proven by its phone: what it was for and when the phone wrote."""

    purpose: str
    verified_at: datetime


def issue(
    db: Database, phone: str, purpose: str, digest: str, *, ttl: float, now: datetime | None = None
) -> None:
    """Keep a code's digest until `ttl` seconds from now (the same code again: no-op)."""
    now = now or utcnow()
    with db.transaction() as s:
        s.execute(delete(PhoneProof).where(PhoneProof.expires_at < now))
        if s.get(PhoneProof, digest) is not None:
            return
        s.add(PhoneProof(digest=digest, phone=phone, purpose=purpose, created_at=now,
                         expires_at=now + timedelta(seconds=ttl)))  # fmt: skip
        s.flush()
        live = s.scalars(
            select(PhoneProof.digest)
            .where(PhoneProof.phone == phone)
            .order_by(PhoneProof.created_at.desc(), PhoneProof.digest)
            .offset(PROOFS_PER_PHONE)
        ).all()
        if live:
            s.execute(delete(PhoneProof).where(PhoneProof.digest.in_(live)))


def prove(
    db: Database,
    phone: str,
    digest: str,
    reply: Callable[[str], OutboundDraft],
    now: datetime | None = None,
) -> bool:
    """The phone sent a code: mark its proof verified, open the user's window (if the
    number has an account) and queue `reply(purpose)`, in one transaction. False: no
    such live code for this phone."""
    now = now or utcnow()
    with db.transaction() as s:
        row = s.get(PhoneProof, digest, with_for_update=True)
        if row is None or row.phone != phone or now >= row.expires_at:
            return False
        if row.verified_at is None:
            row.verified_at = now
        user = s.scalar(select(User).where(User.phone == phone).with_for_update())
        if user is not None and user.status in (UserStatus.ACTIVE, UserStatus.PAUSED):
            user.last_inbound_at = now
            window_hold.release_held(s, phone)
        outbox.enqueue(s, [reply(row.purpose)], is_postgres=db.is_postgres)
        return True


def take(db: Database, phone: str, digest: str) -> Proven | None:
    """The proof of this page's code once its phone has sent it, used up; else None."""
    with db.transaction() as s:
        row = s.get(PhoneProof, digest, with_for_update=True)
        if row is None or row.phone != phone or row.verified_at is None:
            return None
        proven = Proven(row.purpose, row.verified_at)
        s.delete(row)
        return proven


def forget(db: Database, phone: str) -> None:
    """Drop every code of the phone (its account was deleted)."""
    with db.transaction() as s:
        s.execute(delete(PhoneProof).where(PhoneProof.phone == phone))

"""Queries of the `phone_codes` table: one-time codes that prove a person holds a phone.

A code is kept only as an HMAC digest (`core.signup.code_digest`), with an expiry
and a count of wrong tries; the WhatsApp message carrying it is queued in the
outbox in the same transaction, so a code exists exactly when its message does.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from cockpit.core.messages import OutboundDraft
from cockpit.store import outbox
from cockpit.store.db import Database
from cockpit.store.models import PhoneCode, utcnow

Check = Literal["ok", "wrong", "expired", "locked", "missing"]


class TooSoonError(ValueError):
    """A new code was asked for before the previous one may be replaced."""


def issue(
    db: Database,
    phone: str,
    purpose: str,
    digest: str,
    message: OutboundDraft,
    *,
    ttl: float,
    resend_after: float,
) -> None:
    """Replace the phone's code with a new one and queue its message; TooSoonError if too soon."""
    try:
        _issue(db, phone, purpose, digest, message, ttl=ttl, resend_after=resend_after)
    except IntegrityError:  # two first codes for one phone at the same instant: one wins
        raise TooSoonError("A code was just sent. Wait a moment before asking again.") from None


def _issue(
    db: Database,
    phone: str,
    purpose: str,
    digest: str,
    message: OutboundDraft,
    *,
    ttl: float,
    resend_after: float,
) -> None:
    now = utcnow()
    with db.transaction() as s:
        row = s.get(PhoneCode, phone, with_for_update=True)
        if row is not None and now - row.sent_at < timedelta(seconds=resend_after):
            wait = resend_after - (now - row.sent_at).total_seconds()
            raise TooSoonError(f"A code was just sent. Wait {int(wait) + 1} s before asking again.")
        if row is None:
            row = PhoneCode(phone=phone)
            s.add(row)
        row.purpose, row.digest, row.attempts = purpose, digest, 0
        row.sent_at, row.expires_at = now, now + timedelta(seconds=ttl)
        outbox.enqueue(s, [message], is_postgres=db.is_postgres)


def check(db: Database, phone: str, purpose: str, digest: str, *, max_attempts: int) -> Check:
    """Compare a typed code's digest with the phone's code; a right code is used up."""
    with db.transaction() as s:
        row = s.get(PhoneCode, phone, with_for_update=True)
        if row is None or row.purpose != purpose:
            return "missing"
        if row.attempts >= max_attempts:
            return "locked"
        if utcnow() >= row.expires_at:
            return "expired"
        if row.digest != digest:
            row.attempts += 1
            return "locked" if row.attempts >= max_attempts else "wrong"
        s.delete(row)
        return "ok"


def forget(db: Database, phone: str) -> None:
    """Drop any code of the phone (its account was deleted)."""
    with db.transaction() as s:
        s.execute(delete(PhoneCode).where(PhoneCode.phone == phone))

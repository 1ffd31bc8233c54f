"""Queries of the `phone_codes` table: one-time codes that prove a person holds a phone.

A code is kept only as an HMAC digest (`core.signup.code_digest`), with an expiry
and a count of wrong tries; the WhatsApp message carrying it is queued in the
outbox in the same transaction, so a code exists exactly when its message does.
The row outlives its codes: wrong tries and sends are counted per phone until a
right code, so asking for a new code neither resets the lockout nor comes for free.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from cockpit.core.clock import utcnow
from cockpit.core.messages import OutboundDraft
from cockpit.core.signup import CodeRules, too_soon
from cockpit.store import outbox
from cockpit.store.db import Database
from cockpit.store.models import PhoneCode

Check = Literal["ok", "wrong", "expired", "locked", "missing"]


class TooSoonError(ValueError):
    """A new code was asked for before the previous one may be replaced (`why`: "resend",
    or "locked" after too many wrong codes); `wait`: seconds until it may, if known. Its
    text, for the person, is worded in core/signup.py."""

    def __init__(self, why: Literal["resend", "locked"], wait: float | None = None):
        super().__init__(too_soon(why, wait))
        self.why, self.wait = why, wait


def issue(
    db: Database,
    phone: str,
    purpose: str,
    digest: str,
    message: OutboundDraft | None,
    *,
    ttl: float,
    rules: CodeRules,
    now: datetime | None = None,
) -> None:
    """Replace the phone's code with a new one and queue its message; TooSoonError if too soon.

    `message` None keeps a code that is never sent (a sign-in for a number without an
    account), so that the page and its limits behave exactly as for a known number.
    """
    try:
        _issue(db, phone, purpose, digest, message, ttl=ttl, rules=rules, now=now)
    except IntegrityError:  # two first codes for one phone at the same instant: one wins
        raise TooSoonError("resend") from None


def _issue(
    db: Database,
    phone: str,
    purpose: str,
    digest: str,
    message: OutboundDraft | None,
    *,
    ttl: float,
    rules: CodeRules,
    now: datetime | None = None,
) -> None:
    now = now or utcnow()
    with db.transaction() as s:
        row = s.get(PhoneCode, phone, with_for_update=True)
        if row is not None:
            _refuse_if_locked(row, now)
            wait = rules.resend_wait(row.issued) - (now - row.sent_at).total_seconds()
            if wait > 0:
                raise TooSoonError("resend", wait)
        if row is None:
            row = PhoneCode(phone=phone, failures=0, issued=0)
            s.add(row)
        row.purpose, row.digest, row.attempts = purpose, digest, 0
        row.issued = (row.issued or 0) + 1
        row.sent_at, row.expires_at = now, now + timedelta(seconds=ttl)
        if message is not None:
            outbox.enqueue(s, [message], is_postgres=db.is_postgres)


def _refuse_if_locked(row: PhoneCode, now: datetime) -> None:
    if row.locked_until is not None and now < row.locked_until:
        wait = (row.locked_until - now).total_seconds()
        raise TooSoonError("locked", wait)


def check(
    db: Database,
    phone: str,
    purpose: str,
    digest: str,
    *,
    rules: CodeRules,
    now: datetime | None = None,
) -> Check:
    """Compare a typed code's digest with the phone's code; a right code is used up.

    Wrong tries count per phone across codes (a new code does not reset them): every
    `rules.max_failures` of them lock the number for longer (`rules.lock_seconds`).
    """
    now = now or utcnow()
    with db.transaction() as s:
        row = s.get(PhoneCode, phone, with_for_update=True)
        if row is None or row.purpose != purpose:
            return "missing"
        if row.locked_until is not None and now < row.locked_until:
            return "locked"
        if row.attempts >= rules.max_failures:
            return "locked"  # this code is spent; a new one may be asked for
        if now >= row.expires_at:
            return "expired"
        if not hmac.compare_digest(row.digest, digest):
            row.attempts += 1
            row.failures = (row.failures or 0) + 1
            if row.failures % rules.max_failures == 0:
                row.locked_until = now + timedelta(seconds=rules.lock_seconds(row.failures))
                return "locked"
            return "wrong"
        s.delete(row)  # a right code: the failures and the resend backoff start over
        return "ok"


def forget(db: Database, phone: str) -> None:
    """Drop any code of the phone (its account was deleted)."""
    with db.transaction() as s:
        s.execute(delete(PhoneCode).where(PhoneCode.phone == phone))

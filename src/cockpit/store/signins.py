"""Queries of `web_signins`: the server's side of a signed-in web session.

The cookie names a session id; only an unexpired row for that id and user counts
as signed in. Logging out deletes the row, so a cookie copied before stops working
at once; deleting the user deletes their rows (ON DELETE CASCADE).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from cockpit.core.clock import utcnow
from cockpit.store.db import Database
from cockpit.store.models import WebSignin


def sign_in(db: Database, sid: str, user_id: int, *, seconds: float) -> None:
    """Record that session `sid` is signed in as `user_id` for `seconds`."""
    now = utcnow()
    with db.transaction() as s:
        s.execute(delete(WebSignin).where(WebSignin.expires_at < now))
        s.merge(WebSignin(sid=sid, user_id=user_id, expires_at=now + timedelta(seconds=seconds)))


def user_of(db: Database, sid: str) -> int | None:
    """The user session `sid` is signed in as, or None (signed out, expired, unknown)."""
    with db.transaction() as s:
        row = s.get(WebSignin, sid)
        if row is None or utcnow() >= row.expires_at:
            return None
        return row.user_id


def sign_out(db: Database, sid: str) -> None:
    """End session `sid` on the server."""
    with db.transaction() as s:
        s.execute(delete(WebSignin).where(WebSignin.sid == sid))

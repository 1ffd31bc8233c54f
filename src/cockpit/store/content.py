"""Queries of `content_templates`: the Content API templates the relay created, by the
hash of their definition, so each kind is created once and reused by every relay."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from cockpit.core.clock import utcnow
from cockpit.store.db import Database
from cockpit.store.models import ContentTemplate


def get_sid(db: Database, definition_hash: str) -> str | None:
    """The content SID (HX…) created for this definition, if any."""
    with db.transaction() as s:
        row = s.get(ContentTemplate, definition_hash)
        return row.content_sid if row else None


def put_sid(db: Database, definition_hash: str, content_sid: str, kind: str) -> str:
    """Remember `content_sid` for the definition; when another relay was first, its SID
    wins and is returned (both templates work; one is used from now on)."""
    insert = pg_insert if db.is_postgres else sqlite_insert
    values = {"definition_hash": definition_hash, "content_sid": content_sid, "kind": kind,
              "created_at": utcnow()}  # fmt: skip
    with db.transaction() as s:
        s.execute(insert(ContentTemplate).values(**values).on_conflict_do_nothing())
        row = s.get(ContentTemplate, definition_hash)
        assert row is not None
        return row.content_sid


def forget(db: Database, definition_hash: str) -> None:
    """Drop a cached SID that Twilio no longer knows (it is created again on next use)."""
    with db.transaction() as s:
        s.execute(delete(ContentTemplate).where(ContentTemplate.definition_hash == definition_hash))

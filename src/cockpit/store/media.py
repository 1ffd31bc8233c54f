"""Queries of the `media` table (the bytes live in an ImageStore)."""

from __future__ import annotations

from dataclasses import dataclass

from cockpit.store.db import Database
from cockpit.store.models import Media


@dataclass(frozen=True)
class MediaRecord:
    id: str
    content_type: str
    size: int
    sha256: str
    filename: str


def add_media(db: Database, record: MediaRecord) -> None:
    """Remember stored media so that it can be served by id."""
    with db.transaction() as s:
        s.add(Media(**record.__dict__))


def get_media(db: Database, media_id: str) -> MediaRecord | None:
    """The media row with this id, or None."""
    with db.transaction() as s:
        row = s.get(Media, media_id)
        if row is None:
            return None
        return MediaRecord(row.id, row.content_type, row.size, row.sha256, row.filename)

"""Keeping media bytes the relay received, so they can be served under signed URLs."""

from __future__ import annotations

from cockpit.relay.runtime import Relay
from cockpit.relay.workers import in_thread
from cockpit.store import media


async def keep_media(relay: Relay, data: bytes, content_type: str, name: str) -> str:
    """Store bytes in the ImageStore and remember them; the media id."""
    stored = await in_thread(relay.images.put, data, content_type, name)
    record = media.MediaRecord(
        stored.id, stored.content_type, stored.size, stored.sha256, stored.filename
    )
    await relay.store(media.add_media, record)
    return stored.id

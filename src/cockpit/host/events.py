"""The host's durable, numbered event log and its live followers.

An event is committed to the database before any follower is woken, so a reader
that reconnects with the last sequence number it saw misses nothing and gets
nothing twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from cockpit.host.db import Event, HostDB
from cockpit.log import get_logger

log = get_logger(__name__)


class EventLog:
    """Append events; follow them from a sequence number on."""

    def __init__(self, db: HostDB):
        self._db = db
        self._changed = asyncio.Event()
        self._closed = False

    def emit(self, type_: str, turn_id: str | None, session: str | None, **payload: Any) -> Event:
        """Append (and commit) one event, then wake the followers."""
        event = self._db.append_event(type_, turn_id, session, payload)
        log.info("host.event", seq=event.seq, type=type_, turn_id=turn_id, session=session)
        self._changed.set()
        self._changed = asyncio.Event()
        return event

    def close(self) -> None:
        """End every follow() loop (the host is stopping)."""
        self._closed = True
        self._changed.set()

    async def follow(self, after: int) -> AsyncIterator[Event]:
        """Every event after `after`, then new ones as they are appended."""
        while not self._closed:
            changed = self._changed
            events = self._db.events_after(after)
            for event in events:
                yield event
                after = event.seq
            if not events:
                await changed.wait()

"""The relay's Content API templates: created on first use, cached in the database
(keyed by a hash of the definition) and in memory, reused for every prompt."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from cockpit.core import interactive
from cockpit.log import get_logger
from cockpit.store import content

if TYPE_CHECKING:
    from cockpit.relay.runtime import Relay

log = get_logger(__name__)


class ContentTemplates:
    """Content SIDs by template kind (`approval`, `buttons2`, `list7`, …)."""

    def __init__(self, relay: Relay):
        self.relay = relay
        self._sids: dict[str, str] = {}
        self._lock = asyncio.Lock()

    async def sid(self, kind: str) -> str:
        """The HX sid of template `kind`, creating it once; raises ChannelError (from
        the Content API) or StoreError."""
        body = interactive.definition(kind)
        key = interactive.definition_hash(body)
        if key in self._sids:
            return self._sids[key]
        async with self._lock:
            found = self._sids.get(key) or await self.relay.store(content.get_sid, key)
            if found is None:
                created = await self.relay.channel.create_content(body)
                found = await self.relay.store(content.put_sid, key, created, kind)
                log.info("content.created", kind=kind, content_sid=found)
            self._sids[key] = found
            return found

    async def forget(self, kind: str) -> None:
        """Twilio does not know the cached SID of `kind` (deleted?): make it anew next time."""
        key = interactive.definition_hash(interactive.definition(kind))
        self._sids.pop(key, None)
        await self.relay.store(content.forget, key)

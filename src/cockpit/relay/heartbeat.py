"""The relay's own health check, recorded so uptime can be computed from data."""

from __future__ import annotations

import asyncio

from cockpit.errors import StoreError
from cockpit.log import get_logger
from cockpit.relay.runtime import Relay
from cockpit.relay.workers import in_thread
from cockpit.store import heartbeats

log = get_logger(__name__)


class Heartbeat:
    """Writes a heartbeat every `COCKPIT_HEARTBEAT_SECONDS` while the relay is healthy.

    A beat is a database write from the relay's event loop: it proves the process
    runs, its loop is not stuck and the database takes writes. When any of these
    fails no beat is written, and the gap is what `cockpit report` counts as downtime.
    """

    def __init__(self, relay: Relay):
        self.relay = relay

    async def run(self) -> None:
        """Beat until cancelled."""
        interval = self.relay.settings.heartbeat_seconds
        while True:
            try:
                await in_thread(heartbeats.record, self.relay.db, self.relay.worker_id, interval)
            except StoreError as exc:
                log.warning("heartbeat.failed", worker=self.relay.worker_id, error=str(exc))
            await asyncio.sleep(interval)

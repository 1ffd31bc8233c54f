"""The relay's own health check, recorded so uptime can be computed from data."""

from __future__ import annotations

import asyncio

from cockpit.errors import StoreError
from cockpit.log import get_logger
from cockpit.relay.runtime import Relay
from cockpit.store import heartbeats, leases

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
                await self.relay.store(
                    heartbeats.record, self.relay.worker_id, interval, now=self.relay.clock.now()
                )
            except StoreError as exc:
                log.warning("heartbeat.failed", worker=self.relay.worker_id, error=str(exc))
            await asyncio.sleep(interval)


class Leases:
    """Renews every claim this relay holds, one statement per kind, every
    `Settings.renew_every` seconds (store/leases.py).

    This is what keeps a relay's work its own while it lives, however long a Claude turn
    runs; a relay that dies stops renewing and the others take its work over once the
    leases lapse (10 s by default). A claim found taken over is reported to its holder,
    which stops working on it.
    """

    def __init__(self, relay: Relay):
        self.relay = relay

    async def run(self) -> None:
        """Renew until cancelled."""
        while True:
            await asyncio.sleep(self.relay.settings.renew_every)
            await self.renew_once()

    async def renew_once(self) -> None:
        """One round of renewals; a failure is logged (the leases still run meanwhile)."""
        relay = self.relay
        held = relay.claims.held()
        if not held:
            return
        try:
            lost = await relay.store(
                leases.renew, relay.worker_id, held, relay.leases(), now=relay.clock.now()
            )
        except StoreError as exc:
            log.warning("leases.renew_failed", worker=relay.worker_id, error=str(exc))
            return
        for kind, keys in lost.items():
            # Some of these only finished between the snapshot and the renewal: that is fine,
            # their holders have already dropped them.
            still = keys & relay.claims.held().get(kind, set())
            if still:
                # Usually the work moved on (a status callback beat the send's answer);
                # a claim taken over is logged by the holder that finds it fenced.
                log.info("leases.gone", kind=kind, keys=sorted(map(str, still))[:20])
                relay.claims.mark_lost(kind, still)

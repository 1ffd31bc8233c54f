"""Asks Twilio for the status of messages whose status callbacks never arrived.

Twilio does not re-send a status callback the relay refused (a 503 while the
database restarted, say), so such a row would stay `accepted` for ever. Rows
`accepted` for longer than `COCKPIT_STATUS_CHECK_SECONDS` are looked up with
the Messages API, a batch at a time, and the answer is applied like a callback
(which only moves a row forward).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from cockpit.core.messages import MessageStatus
from cockpit.errors import ChannelError, StoreError
from cockpit.log import get_logger
from cockpit.relay import window
from cockpit.relay.runtime import Relay
from cockpit.relay.workers import in_thread
from cockpit.store import outbox

log = get_logger(__name__)
BATCH = 50  # lookups per round: bounds the API calls when many callbacks were lost


class StatusChecker:
    """Every `COCKPIT_STATUS_CHECK_SECONDS`, fetches the status of stale accepted rows."""

    def __init__(self, relay: Relay):
        self.relay = relay
        # Where the next round goes on: rows Twilio still reports as queued do not
        # take every round's batch; at the end the walk starts over.
        self._after_id = 0

    async def run(self) -> None:
        """Check until cancelled; a failed round is logged and the next one tries again."""
        interval = self.relay.settings.status_check_seconds
        while True:
            await asyncio.sleep(interval)
            try:
                await self.check_once()
            except StoreError as exc:
                log.warning("status_check.failed", error=str(exc))

    async def check_once(self) -> int:
        """Look up one batch; how many rows moved forward."""
        relay = self.relay
        older_than = relay.clock.now() - timedelta(seconds=relay.settings.status_check_seconds)
        rows = await relay.store(outbox.stale_accepted, older_than, self._after_id, BATCH)
        self._after_id = rows[-1].id if len(rows) == BATCH else 0
        moved = 0
        for row in rows:
            if relay.stopping.is_set():
                break
            assert row.provider_sid is not None  # the query selects only rows with one
            lease = relay.settings.claim_lease_seconds
            if not await relay.store(outbox.claim_lookup, row.id, relay.worker_id, lease):
                continue  # another relay is looking it up
            relay.claims.hold("status", row.id)
            try:
                moved += await self._look_up(row.id, row.provider_sid)
            finally:
                relay.claims.drop("status", row.id)
                await relay.store(outbox.end_lookup, row.id, relay.worker_id)
        return moved

    async def _look_up(self, row_id: int, sid: str) -> int:
        """Ask the provider about one row and apply the answer; 1 when the row moved on."""
        relay = self.relay
        try:
            found = await relay.channel.status(sid)
        except ChannelError as exc:
            log.warning("status_check.lookup_failed", outbound_id=row_id, error=str(exc))
            return 0
        if found.status in ("", "queued", "accepted", "sending"):
            return 0  # Twilio has not sent it yet: ask again next round
        await in_thread(_record, relay, row_id, sid, found)
        relay.outbox_ready.set()  # a later row to that phone may go now
        log.info("status_check.applied", outbound_id=row_id, status=found.status)
        return 1


def _record(relay: Relay, row_id: int, sid: str, found: MessageStatus) -> None:
    """Apply the status as the status callback route would (63016 holds the row)."""
    status, code = found.status.lower(), found.error_code
    if not window.refused_by_callback(relay, row_id, sid, status, code):
        outbox.apply_status(relay.db, row_id=row_id, sid=sid, status=status, error_code=code)

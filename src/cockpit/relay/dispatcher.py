"""Takes each user's inbox in arrival order and hands messages to the agent."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from cockpit.core.backoff import retry_delay
from cockpit.core.messages import OutboundDraft
from cockpit.errors import CockpitError, ProvisionError
from cockpit.log import get_logger
from cockpit.relay.agents import Agent
from cockpit.relay.runtime import Relay
from cockpit.relay.workers import wait_for_work
from cockpit.store import inbox
from cockpit.store.inbox import InboundRecord

log = get_logger(__name__)

DELAY_NOTICE = (
    "I got your message but couldn't pass it on yet ({reason}). It is kept and I'll "
    "keep trying; no need to send it again."
)


class Dispatcher:
    """Drains the inbox: one message at a time per user, oldest first."""

    def __init__(self, relay: Relay, agent: Agent):
        self.relay = relay
        self.agent = agent

    async def run(self) -> None:
        """Work until cancelled."""
        while True:
            self.relay.inbox_ready.clear()
            try:
                busy = await self.drain()
            except CockpitError as exc:
                log.error("dispatcher.drain_failed", error=str(exc))
                busy = False
            if not busy:
                await wait_for_work(self.relay.inbox_ready, self.relay.settings.poll_seconds)

    async def drain(self) -> bool:
        """Handle every message that is due; True when any was handled."""
        worker = self.relay.worker_id
        records = await self.relay.store(inbox.due, 50, worker, now=self.relay.clock.now())
        postponed: set[int | None] = set()
        for record in records:
            if self.relay.stopping.is_set():
                break  # shutting down: the other relays take what is left
            if record.user_id in postponed:
                continue  # its sender's earlier message waits or is taken: keep their order
            await self.relay.pressure.yield_to_burst()  # Twilio's answers go first
            lease = self.relay.settings.inbox_lease_seconds
            claimed = await self.relay.store(
                inbox.claim, record, worker, lease, now=self.relay.clock.now()
            )
            if claimed is None:  # another relay has it (or just finished it)
                postponed.add(record.user_id)
                continue
            self.relay.claims.hold("inbox", claimed.id)  # the heartbeat renews it meanwhile
            try:
                handled = await self.handle(claimed)
            except asyncio.CancelledError:  # stopping: let another relay take it now
                # Best effort: if the database is away too, the lease frees it later.
                with contextlib.suppress(Exception):
                    inbox.release(self.relay.db, claimed.id, worker)
                self.relay.inbox_ready.set()
                raise
            finally:
                self.relay.claims.drop("inbox", claimed.id)
            if not handled:
                postponed.add(record.user_id)
        return bool(records)

    async def handle(self, record: InboundRecord) -> bool:
        """Run one message through the agent and record the outcome atomically;
        False when it was postponed."""
        try:
            drafts = await self.agent.handle(self.relay, record)
        except CockpitError as exc:
            await self._postpone(record, exc)
            return False
        worker = self.relay.worker_id
        if not await self.relay.store(inbox.finish, record.id, drafts, worker):
            # Our claim lapsed and another relay took the message over: its answer stands.
            log.warning("dispatcher.claim_lost", sid=record.message.sid)
            return True
        log.info("dispatcher.handled", sid=record.message.sid, replies=len(drafts))
        self.relay.outbox_ready.set()
        return True

    async def _postpone(self, record: InboundRecord, exc: CockpitError) -> None:
        settings = self.relay.settings
        delay = retry_delay(
            record.attempts + 1, base=settings.retry_base_seconds, cap=settings.retry_max_seconds
        )
        notice = OutboundDraft(
            key=f"delay:{record.message.sid}",
            to=record.message.from_number,
            body=DELAY_NOTICE.format(reason=_reason(exc)),
            user_id=record.user_id,
            inbound_id=record.id,
            kind="notice",
        )
        next_at = self.relay.clock.now() + timedelta(seconds=delay)
        worker = self.relay.worker_id
        await self.relay.store(inbox.postpone, record.id, str(exc), next_at, [notice], worker)
        log.warning("dispatcher.postponed", sid=record.message.sid, error=str(exc), delay=delay)
        self.relay.outbox_ready.set()


def _reason(exc: CockpitError) -> str:
    """What the phone is told: provisioning errors carry operator details (logs, fixes)."""
    return exc.user_message if isinstance(exc, ProvisionError) else str(exc)

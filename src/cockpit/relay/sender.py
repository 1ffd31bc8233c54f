"""Drains the outbox through the channel: in order per recipient, never twice.

Each head-of-line row is claimed (a compare-and-set with a lease), then sent.
A send whose outcome is unknown (timeout, crash) is reconciled against the
provider's list of sent messages before it is tried again. A free-form message
outside WhatsApp's 24-hour window (as we know it, or as Twilio's 63016 says) is
held and the window's template queued instead (relay/window.py).
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta

from cockpit.core import signup
from cockpit.core import window as rules
from cockpit.core.backoff import retry_delay
from cockpit.errors import (
    ChannelError,
    PermanentSendError,
    StoreError,
    TransientSendError,
    UnknownOutcomeError,
)
from cockpit.log import get_logger
from cockpit.relay import window
from cockpit.relay.runtime import Relay
from cockpit.relay.workers import wait_for_work
from cockpit.store import outbox, window_hold
from cockpit.store.outbox import OutboundRecord

log = get_logger(__name__)


class Sender:
    """Sends due outbox rows; different recipients in parallel, one recipient in order."""

    def __init__(self, relay: Relay):
        self.relay = relay

    async def run(self) -> None:
        """Work until cancelled."""
        while True:
            self.relay.outbox_ready.clear()
            try:
                busy = await self.drain()
            except StoreError as exc:
                log.error("sender.drain_failed", error=str(exc))
                busy = False
            if not busy:
                await wait_for_work(self.relay.outbox_ready, self.relay.settings.poll_seconds)

    async def drain(self) -> bool:
        """Try every due head-of-line row once; True when there were any."""
        if self.relay.stopping.is_set():
            return False  # shutting down: the other relays send what is left
        await self.relay.pressure.yield_to_burst()  # Twilio's answers go first
        heads = await self.relay.store(outbox.due_heads, now=self.relay.clock.now())
        await asyncio.gather(*(self.deliver(row) for row in heads))
        return bool(heads)

    async def deliver(self, head: OutboundRecord) -> None:
        """Claim one row and send it, recording what happened."""
        settings = self.relay.settings
        # The window is read before the claim: nothing may lengthen the time between a
        # claim and its send, or the lease could run out and another relay send it too.
        seen, closed = await self._window(head)
        row = await self.relay.store(
            outbox.claim,
            head,
            self.relay.worker_id,
            settings.send_lease_seconds,
            now=self.relay.clock.now(),
        )
        if row is None:
            return  # another worker has it
        self.relay.claims.hold("send", row.id)  # the heartbeat renews it while we send
        try:
            await self._attempt(row, seen, closed)
        finally:
            self.relay.claims.drop("send", row.id)

    async def _attempt(self, row: OutboundRecord, seen: datetime | None, closed: bool) -> None:
        try:
            if row.maybe_sent and await self._reconcile(row):
                return
            if closed:
                await self._plain(row, "window_closed")
                await self._hold(row, seen, window.CLOSED)
                return
            await self._send(row)
        except PermanentSendError as exc:
            if exc.code == rules.OUTSIDE_WINDOW and _free_form(row):
                await self._plain(row, "window_closed")
                await self._hold(row, seen, f"{window.CLOSED} ({exc})")
            else:
                await self._fail(row, exc)
        except TransientSendError as exc:
            await self._retry(row, exc)

    async def _window(self, row: OutboundRecord) -> tuple[datetime | None, bool]:
        """The user's last inbound time, and whether this free-form row must wait: the
        window is closed, or an older row to the phone already waits."""
        if not _free_form(row):
            return None, False
        seen, held_before = await self.relay.store(window_hold.window_state, row)
        margin = timedelta(seconds=self.relay.settings.window_margin_seconds)
        return seen, held_before or not rules.is_open(seen, self.relay.clock.now(), margin)

    async def _hold(self, row: OutboundRecord, seen: datetime | None, reason: str) -> None:
        """Keep the row for when the user writes; the window's template goes instead."""
        relay = self.relay
        held = await relay.store(window_hold.hold, row, seen, reason, window.reopener(relay))
        relay.outbox_ready.set()  # the template, or the row itself when the window re-opened
        if held:
            relay.metrics.outbound.labels("held").inc()
            log.info("sender.held", outbound_id=row.id, user_id=row.user_id, reason=reason)
            window.warn_if_no_template(relay, row.id, row.user_id)

    async def _plain(self, row: OutboundRecord, reason: str) -> None:
        """A prompt that cannot have buttons goes (later) as its numbered text."""
        if row.interactive:
            log.info("content.fallback", outbound_id=row.id, kind=row.interactive, reason=reason)
            await self.relay.store(outbox.drop_content, row.id)

    async def _content(self, row: OutboundRecord) -> tuple[str | None, str | None]:
        """The content SID and variables to send `row` with: its template's, its
        buttons' (created once), or none (plain text, logged) when the Content API fails."""
        if not row.interactive or not self.relay.settings.buttons:
            return row.content_sid, row.content_variables
        try:
            return await self.relay.content.sid(row.interactive), row.content_variables
        except (ChannelError, StoreError) as exc:
            log.warning("content.fallback", outbound_id=row.id, kind=row.interactive,
                        reason="content_api", error=str(exc))  # fmt: skip
            return None, None

    async def _send(self, row: OutboundRecord) -> None:
        relay = self.relay
        media_url = relay.media_url(row.media_id) if row.media_id else None
        callback = relay.status_callback_url(row.id)
        started = time.perf_counter()
        content_sid, variables = await self._content(row)
        if row.kind == "code" and relay.settings.secret_key is not None:  # derived, not stored
            variables = signup.code_variables(relay.settings.secret_key.get_secret_value(), row.key)
        try:
            receipt = await relay.channel.send(
                row.to, row.body, media_url, callback,
                content_sid=content_sid, content_variables=variables,
            )  # fmt: skip
        except PermanentSendError as exc:
            if not row.interactive or content_sid is None or exc.code == rules.OUTSIDE_WINDOW:
                raise
            log.warning("content.fallback", outbound_id=row.id, kind=row.interactive,
                        reason="send_refused", error=str(exc), code=exc.code)  # fmt: skip
            if exc.code in UNKNOWN_CONTENT:
                await relay.content.forget(row.interactive)
            receipt = await relay.channel.send(row.to, row.body, media_url, callback)
        relay.metrics.outbound_latency.observe(time.perf_counter() - started)
        relay.metrics.outbound.labels("sent").inc()
        await relay.store(
            outbox.mark_accepted, row.id, receipt.sid, receipt.status,
            relay.settings.order_timeout_seconds, attempts=row.attempts, now=relay.clock.now(),
        )  # fmt: skip
        log.info("sender.accepted", outbound_id=row.id, sid=receipt.sid, attempt=row.attempts)

    async def _reconcile(self, row: OutboundRecord) -> bool:
        """Find a message the provider already has for `row`; True when found."""
        since = row.created_at - timedelta(days=1)
        listed = await self.relay.channel.sent_since(row.to, since)
        media_count = 1 if row.media_id else 0
        bodies = {row.body, _button_body(row)}
        candidates = [m for m in listed if m.body in bodies and m.num_media == media_count]
        sids = [m.sid for m in candidates]
        taken = await self.relay.store(outbox.sids_in_use, sids, besides=row.id)
        match = next((m for m in reversed(candidates) if m.sid not in taken), None)
        if match is None:
            log.info("sender.reconciled_absent", outbound_id=row.id)
            return False
        await self.relay.store(
            outbox.mark_accepted, row.id, match.sid, match.status,
            self.relay.settings.order_timeout_seconds, attempts=row.attempts,
            now=self.relay.clock.now(),
        )  # fmt: skip
        log.info("sender.reconciled_found", outbound_id=row.id, sid=match.sid)
        return True

    async def _retry(self, row: OutboundRecord, exc: TransientSendError) -> None:
        settings = self.relay.settings
        if row.attempts >= settings.send_max_attempts:
            await self._fail(row, exc)
            return
        delay = retry_delay(
            row.attempts, base=settings.retry_base_seconds, cap=settings.retry_max_seconds,
            retry_after=exc.retry_after,
        )  # fmt: skip
        maybe_sent = isinstance(exc, UnknownOutcomeError) or row.maybe_sent
        if isinstance(exc, UnknownOutcomeError):
            # The lost request may still be on its way into Twilio: looking at its list
            # sooner than a whole timeout later could miss it and send the message twice.
            delay = max(delay, settings.send_timeout_seconds)
        next_at = self.relay.clock.now() + timedelta(seconds=delay)
        await self.relay.store(outbox.mark_retry, row, str(exc), next_at, maybe_sent=maybe_sent)
        self.relay.metrics.outbound.labels("retried").inc()
        log.warning("sender.retry", outbound_id=row.id, error=str(exc), delay=round(delay, 3))

    async def _fail(self, row: OutboundRecord, exc: ChannelError) -> None:
        await self.relay.store(outbox.mark_failed, row, str(exc), exc.code)
        self.relay.metrics.outbound.labels("failed").inc()
        log.error("sender.failed", outbound_id=row.id, error=str(exc), code=exc.code)


UNKNOWN_CONTENT = (20404, 21655)  # Twilio knows no such ContentSid


def _button_body(row: OutboundRecord) -> str:
    """The text a message with buttons shows (its first variable), for reconciliation."""
    try:
        return str(json.loads(row.content_variables or "{}").get("1", row.body))
    except (ValueError, AttributeError):
        return row.body


def _free_form(row: OutboundRecord) -> bool:
    """A message WhatsApp delivers only inside the window: not a template, and to a user
    whose window we track (a refusal to a stranger answers the message just received)."""
    return row.content_sid is None and row.user_id is not None

"""The relay's own Twilio client against the simulator: it works as against Twilio."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from cockpit.channels.twilio import TwilioChannel, parse_inbound
from cockpit.errors import PermanentSendError, TransientSendError, UnknownOutcomeError
from tests.channels.simulator_harness import (
    ACCOUNT,
    ADA,
    SENDER,
    TOKEN,
    Stack,
    png_bytes,
    simulator_stack,
)


@pytest.fixture
def stack() -> Iterator[Stack]:
    """A running simulator and receiver."""
    with simulator_stack() as running:
        yield running


@pytest.fixture
async def channel(stack: Stack) -> AsyncIterator[TwilioChannel]:
    """The relay's Twilio channel pointed at the simulator."""
    twilio = TwilioChannel(
        account_sid=ACCOUNT, auth_token=TOKEN, from_=SENDER, base_url=stack.url, timeout=5
    )
    yield twilio
    await twilio.aclose()


async def test_send_and_reconcile(stack: Stack, channel: TwilioChannel) -> None:
    """A send returns Twilio's SID, and the reconciliation list finds that message."""
    callback = f"{stack.receiver_url}/twilio/status"
    receipt = await channel.send(ADA, "hello", None, callback)
    assert receipt.status == "queued" and receipt.sid.startswith("SM")
    listed = await channel.sent_since(ADA, datetime.now(UTC))
    assert [(m.sid, m.body) for m in listed] == [(receipt.sid, "hello")]


async def test_status_fetches_one_message(stack: Stack, channel: TwilioChannel) -> None:
    """status() reads a sent message's progress; an unknown SID is a permanent 404."""
    receipt = await channel.send(ADA, "how far?", None, None)
    for _ in range(200):
        found = await channel.status(receipt.sid)
        if found.status == "read":
            break
        await asyncio.sleep(0.02)
    assert (found.sid, found.status, found.error_code) == (receipt.sid, "read", None)
    with pytest.raises(PermanentSendError) as missing:
        await channel.status("SM" + "0" * 32)
    assert missing.value.status == 404 and missing.value.code == 20404


async def test_errors_map_to_the_project_errors(stack: Stack, channel: TwilioChannel) -> None:
    """429, 500 and a too-long body become transient, unknown-outcome and permanent errors."""
    stack.sim.faults.fail_next, stack.sim.faults.fail_status = 1, 429
    stack.sim.faults.retry_after = 3
    with pytest.raises(TransientSendError) as limited:
        await channel.send(ADA, "hi", None, None)
    assert limited.value.retry_after == 3 and limited.value.code == 20429
    stack.sim.faults.fail_next, stack.sim.faults.fail_status = 1, 500
    with pytest.raises(UnknownOutcomeError):
        await channel.send(ADA, "hi", None, None)
    with pytest.raises(PermanentSendError) as refused:
        await channel.send(ADA, "x" * 1601, None, None)
    assert refused.value.code == 21617


async def test_inbound_webhook_parses_and_media_downloads(
    stack: Stack, channel: TwilioChannel
) -> None:
    """The relay's parser reads a phone message and its client downloads the image."""
    image = png_bytes()
    media = "data:image/png;base64," + base64.b64encode(image).decode()
    await asyncio.to_thread(stack.phone_send, "see this", media=media)
    (hit,) = stack.receiver.webhooks()
    assert channel.is_signed(hit.url, hit.params, hit.signature)
    inbound = parse_inbound(hit.params)
    assert (inbound.from_number, inbound.body, inbound.profile_name) == (ADA, "see this", "Ada")
    data, kind = await channel.fetch_media(inbound.media[0].url, 1_000_000)
    assert (data, kind) == (image, "image/png")

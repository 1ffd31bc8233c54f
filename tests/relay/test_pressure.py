"""Twilio's answers first: background work yields to a burst of webhooks, briefly."""

from __future__ import annotations

import asyncio
import time

from cockpit.relay.pressure import WebhookPressure
from cockpit.store import outbox
from tests.live import wait_until
from tests.relay.conftest import ADA, Stack


async def test_background_work_goes_on_at_once_without_a_burst() -> None:
    """Three webhooks at once are no burst: nothing waits."""
    pressure = WebhookPressure(burst=4, max_wait=5)
    with pressure.answering(), pressure.answering(), pressure.answering():
        async with asyncio.timeout(0.5):
            await pressure.yield_to_burst()


async def test_background_work_waits_until_the_burst_is_answered() -> None:
    """A step waits while four webhooks are answered and goes on once one is done."""
    pressure = WebhookPressure(burst=4, max_wait=5)
    answering = [pressure.answering() for _ in range(4)]
    for webhook in answering:
        webhook.__enter__()
    step = asyncio.create_task(pressure.yield_to_burst())
    await asyncio.sleep(0.1)
    assert not step.done()
    answering[0].__exit__(None, None, None)
    async with asyncio.timeout(0.5):
        await step
    for webhook in answering[1:]:
        webhook.__exit__(None, None, None)
    assert pressure.busy == 0


async def test_a_burst_that_never_ends_delays_a_step_by_max_wait_only() -> None:
    """However long a burst lasts, a background step goes on after `max_wait`."""
    pressure = WebhookPressure(burst=1, max_wait=0.2)
    with pressure.answering():
        started = time.monotonic()
        await pressure.yield_to_burst()
        waited = time.monotonic() - started
    assert 0.2 <= waited < 3


def test_replies_still_go_out_while_webhooks_keep_coming(stack: Stack) -> None:
    """With every moment a burst (threshold 0), each message still gets its echo: the
    dispatcher and the sender wait their bounded moment, then go on."""
    stack.relay.pressure = WebhookPressure(burst=0, max_wait=0.2)
    for n in range(3):
        assert stack.send(f"message {n}")["relay_status"] == 200
    replies = stack.wait_received(3)
    assert sorted(r.body for r in replies) == ["message 0", "message 1", "message 2"]
    wait_until(lambda: all(r.status == "read" for r in outbox.for_recipient(stack.db, ADA)))

"""Answering Twilio first: background work yields, briefly, to a burst of webhooks.

The relay answers a webhook in a fraction of the time its background work for that
message takes (dispatch, the reply's send, three status callbacks), and all of it shares
one process. Measured on 2 cores (bench/RESULTS.md, webhook): with that work switched
off the webhook path alone kept up with 0.93× a bare endpoint, with it on 0.3×. So while
a burst of inbound webhooks is being answered, the dispatcher and the sender wait before
their next step, at most `MAX_WAIT` each time: Twilio gets its answers at once, and the
replies still move (a step is never put off longer than that). One user's messages never
make a burst: an ordinary conversation is never slowed (decision 0033).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

BURST = 4  # inbound webhooks being answered at once that make a burst
MAX_WAIT = 0.25  # seconds a background step waits for a burst to pass, at most


class WebhookPressure:
    """How many inbound webhooks this relay is answering right now."""

    def __init__(self, burst: int = BURST, max_wait: float = MAX_WAIT) -> None:
        self.burst = burst
        self.max_wait = max_wait
        self.busy = 0
        self._calm = asyncio.Event()
        self._calm.set()

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Count one inbound webhook while it is answered."""
        self.busy += 1
        if self.busy >= self.burst:
            self._calm.clear()
        try:
            yield
        finally:
            self.busy -= 1
            if self.busy < self.burst:
                self._calm.set()

    async def yield_to_burst(self) -> None:
        """Before a background step: wait while a burst is answered, `max_wait` at most."""
        if self._calm.is_set():
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.max_wait):
                await self._calm.wait()

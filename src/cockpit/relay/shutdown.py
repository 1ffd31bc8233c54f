"""A relay's graceful stop (SIGTERM, a deploy): finish work in hand, hand the rest over."""

from __future__ import annotations

import asyncio
import contextlib

from cockpit.errors import StoreError
from cockpit.log import get_logger
from cockpit.relay.runtime import Relay
from cockpit.relay.workers import TaskGroup
from cockpit.store import leases

log = get_logger(__name__)

# Claims whose work may finish during a graceful stop; a host's stream is just handed over.
FINISHING = ("inbox", "send", "status", "github", "setup")


async def stop_gracefully(relay: Relay, workers: TaskGroup) -> None:
    """SIGTERM (a deploy): take no new work, let work in hand finish for up to
    `COCKPIT_SHUTDOWN_SECONDS`, stop the workers, then hand every claim still held to
    the other relays and wake them, so they go on at once instead of after a lease."""
    relay.stopping.set()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(relay.claims.none_of(FINISHING), relay.settings.shutdown_seconds)
    # Bounded: a task that does not end when cancelled must not keep the relay from exiting.
    closing = asyncio.ensure_future(_close_all(relay, workers))
    _, late = await asyncio.wait({closing}, timeout=3.0)
    if late:
        log.warning("relay.stop_slow", tasks=workers.running())
    # The server takes no requests by now: let the webhook's threads finish what they hold
    # before the database goes (in a thread: waiting must not block the loop).
    await asyncio.to_thread(relay.webhook_pool.shutdown, wait=True)
    try:
        released = await relay.store(leases.release_all, relay.worker_id)
        if relay.db.is_postgres:
            from cockpit.relay.wakeup import notify_all  # psycopg only where it is used

            await relay.store(notify_all, relay.worker_id)
    except StoreError as exc:  # the database is away: the leases run out instead
        log.warning("relay.handback_failed", error=str(exc))
        return
    log.info("relay.stopped", worker=relay.worker_id, handed_back=released)


async def _close_all(relay: Relay, workers: TaskGroup) -> None:
    await relay.jobs.aclose()
    await workers.aclose()

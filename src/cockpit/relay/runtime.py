"""The parts one relay process works with, built once from the settings."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Concatenate, ParamSpec, TypeVar

from cockpit.channels.base import Channel
from cockpit.config import Settings
from cockpit.core.clock import Clock, SystemClock
from cockpit.media.signing import MediaSigner
from cockpit.media.store import ImageStore
from cockpit.relay.content import ContentTemplates
from cockpit.relay.metrics import RelayMetrics
from cockpit.relay.pressure import WebhookPressure
from cockpit.relay.typing import Typing
from cockpit.relay.workers import Jobs, Signal, in_thread
from cockpit.store.db import Database

P = ParamSpec("P")
T = TypeVar("T")

# The webhook's own threads: in the default pool (6 threads on 2 cores) a webhook queued
# behind every dispatch, send and status callback already waiting there. A few suffice:
# on SQLite one writes at a time, on PostgreSQL each holds a connection of the pool.
WEBHOOK_THREADS = 4


def _webhook_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(WEBHOOK_THREADS, thread_name_prefix="cockpit-webhook")


class Claims:
    """The claims this relay is working on right now, by kind (store/leases.py): the
    heartbeat renews exactly these, and tells a holder whose claim was taken over."""

    def __init__(self) -> None:
        self._held: dict[str, set[Any]] = defaultdict(set)
        self._lost: dict[tuple[str, Any], asyncio.Event] = {}
        self._dropped = asyncio.Event()

    def hold(self, kind: str, key: Any) -> asyncio.Event:
        """Start renewing `key`; the event is set if the claim is found taken over."""
        self._held[kind].add(key)
        return self._lost.setdefault((kind, key), asyncio.Event())

    def drop(self, kind: str, key: Any) -> None:
        """Stop renewing `key` (its work is finished or handed back)."""
        self._held[kind].discard(key)
        self._lost.pop((kind, key), None)
        self._dropped.set()

    async def none_of(self, kinds: tuple[str, ...]) -> None:
        """Return once no claim of these kinds is held (a stopping relay's work is done)."""
        while any(self._held[kind] for kind in kinds):
            self._dropped.clear()
            await self._dropped.wait()

    def held(self) -> dict[str, set[Any]]:
        """A copy of every claim held, by kind."""
        return {kind: set(keys) for kind, keys in self._held.items() if keys}

    def mark_lost(self, kind: str, keys: set[Any]) -> None:
        """The heartbeat found these claims held by another relay (or their work done)."""
        for key in keys:
            self._held[kind].discard(key)
            event = self._lost.pop((kind, key), None)
            if event is not None:
                event.set()


@dataclass
class Relay:
    """Settings, database, channel, media and the wake-up signals of the workers."""

    settings: Settings
    db: Database
    channel: Channel
    images: ImageStore
    signer: MediaSigner
    metrics: RelayMetrics = field(default_factory=RelayMetrics)
    worker_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    inbox_ready: Signal = field(default_factory=lambda: Signal("inbox"))
    outbox_ready: Signal = field(default_factory=lambda: Signal("outbox"))
    github_ready: Signal = field(default_factory=lambda: Signal("github"))
    setup_ready: Signal = field(default_factory=lambda: Signal("setup"))
    claims: Claims = field(default_factory=Claims)
    # Inbound webhooks being answered: background work yields to a burst (relay/pressure.py).
    pressure: WebhookPressure = field(default_factory=WebhookPressure)
    # One-off background jobs (a signup's setup, a session's warm-up); the stop cancels them.
    jobs: Jobs = field(default_factory=Jobs)
    # Where the inbound webhook stores messages (relay/routes.py); the stop shuts it down.
    webhook_pool: ThreadPoolExecutor = field(default_factory=_webhook_pool)
    # Set when the relay begins to stop (SIGTERM): workers take no new work.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    # The relay's one source of time (core/clock.py); tests move it instead of sleeping.
    clock: Clock = field(default_factory=SystemClock)
    typing: Typing = field(init=False)  # WhatsApp's typing indicator (relay/typing.py)
    content: ContentTemplates = field(init=False)  # buttons' templates (relay/content.py)

    def __post_init__(self) -> None:
        self.typing = Typing(self)
        self.content = ContentTemplates(self)

    async def store(
        self, func: Callable[Concatenate[Database, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run the store function `func(db, *args, **kwargs)` in a worker thread.

        The one way async relay code touches the database: the store stays synchronous
        (decision 0004) and the event loop never blocks on it.
        """
        return await in_thread(func, self.db, *args, **kwargs)

    def signals(self) -> dict[str, Signal]:
        """The wake-up signals by kind (what NOTIFY payloads name)."""
        return {s.kind: s for s in (self.inbox_ready, self.outbox_ready, self.github_ready,
                                    self.setup_ready)}  # fmt: skip

    def leases(self) -> dict[str, float]:
        """The lease of each kind of claim (store/leases.py), from the settings."""
        s = self.settings
        return {"inbox": s.inbox_lease_seconds, "send": s.send_lease_seconds,
                "status": s.claim_lease_seconds, "host": s.host_lease_seconds,
                "github": s.claim_lease_seconds, "setup": s.claim_lease_seconds}  # fmt: skip

    @property
    def public_url(self) -> str:
        assert self.settings.public_url, "COCKPIT_PUBLIC_URL is checked at start-up"
        return self.settings.public_url

    def media_url(self, media_id: str) -> str:
        """A signed, expiring public URL of stored media."""
        return f"{self.public_url}/media/{self.signer.token(media_id)}"

    def status_callback_url(self, outbound_id: int) -> str:
        """Where the provider reports the delivery of outbound row `outbound_id`."""
        return f"{self.public_url}/twilio/status?oid={outbound_id}"

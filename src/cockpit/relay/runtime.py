"""The parts one relay process works with, built once from the settings."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from cockpit.channels.base import Channel
from cockpit.config import Settings
from cockpit.media.signing import MediaSigner
from cockpit.media.store import ImageStore
from cockpit.relay.content import ContentTemplates
from cockpit.relay.metrics import RelayMetrics
from cockpit.relay.typing import Typing
from cockpit.store.db import Database
from cockpit.store.models import utcnow


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
    inbox_ready: asyncio.Event = field(default_factory=asyncio.Event)
    outbox_ready: asyncio.Event = field(default_factory=asyncio.Event)
    github_ready: asyncio.Event = field(default_factory=asyncio.Event)
    # The relay's idea of now for WhatsApp's 24-hour window; tests move it forward.
    clock: Callable[[], datetime] = utcnow
    typing: Typing = field(init=False)  # WhatsApp's typing indicator (relay/typing.py)
    content: ContentTemplates = field(init=False)  # buttons' templates (relay/content.py)

    def __post_init__(self) -> None:
        self.typing = Typing(self)
        self.content = ContentTemplates(self)

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

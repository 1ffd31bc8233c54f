"""Agents the dispatcher hands messages to. `EchoAgent` stands in until hosts run."""

from __future__ import annotations

import asyncio
from typing import Protocol

from cockpit.core.formatting import format_for_whatsapp
from cockpit.core.messages import OutboundDraft
from cockpit.errors import MediaError
from cockpit.relay.runtime import Relay
from cockpit.store import media
from cockpit.store.inbox import InboundRecord

MAX_INBOUND_MEDIA_BYTES = 16 * 1024 * 1024


class Agent(Protocol):
    """Takes one inbound message; returns the replies to send right away."""

    async def handle(self, relay: Relay, record: InboundRecord) -> list[OutboundDraft]: ...


class EchoAgent:
    """Answers every text with the same text and every image with the same image."""

    async def handle(self, relay: Relay, record: InboundRecord) -> list[OutboundDraft]:
        msg = record.message
        base = {"to": msg.from_number, "user_id": record.user_id, "inbound_id": record.id}
        drafts = [
            OutboundDraft(key=f"echo:{msg.sid}:t{i}", body=chunk, **base)  # type: ignore[arg-type]
            for i, chunk in enumerate(format_for_whatsapp(msg.body))
        ]
        for i, ref in enumerate(msg.media):
            try:
                media_id = await _keep_media(relay, ref.url, f"image{i}")
                drafts.append(
                    OutboundDraft(
                        key=f"echo:{msg.sid}:m{i}", media_id=media_id, kind="media", **base
                    )  # type: ignore[arg-type]
                )
            except MediaError as exc:
                text = f"I couldn't fetch the file you sent ({exc}). Please send it again."
                drafts.append(OutboundDraft(key=f"echo:{msg.sid}:m{i}", body=text, **base))  # type: ignore[arg-type]
        if not drafts:
            text = "I can only echo text and images; that message had neither."
            drafts.append(OutboundDraft(key=f"echo:{msg.sid}:none", body=text, **base))  # type: ignore[arg-type]
        return drafts


async def _keep_media(relay: Relay, url: str, name: str) -> str:
    data, content_type = await relay.channel.fetch_media(url, MAX_INBOUND_MEDIA_BYTES)
    stored = await asyncio.to_thread(relay.images.put, data, content_type, name)
    record = media.MediaRecord(
        stored.id, stored.content_type, stored.size, stored.sha256, stored.filename
    )
    await asyncio.to_thread(media.add_media, relay.db, record)
    return stored.id

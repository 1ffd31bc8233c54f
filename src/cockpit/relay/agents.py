"""Agents the dispatcher hands messages to. `EchoAgent` stands in until hosts run."""

from __future__ import annotations

from typing import Any, Protocol

from cockpit.core.formatting import format_for_whatsapp
from cockpit.core.messages import OutboundDraft
from cockpit.errors import MediaError
from cockpit.relay.runtime import Relay
from cockpit.relay.storing import keep_media
from cockpit.store.inbox import InboundRecord

MAX_INBOUND_MEDIA_BYTES = 16 * 1024 * 1024


class Agent(Protocol):
    """Takes one inbound message; returns the replies to send right away."""

    async def handle(self, relay: Relay, record: InboundRecord) -> list[OutboundDraft]: ...


class EchoAgent:
    """Answers every text with the same text and every image with the same image."""

    async def handle(self, relay: Relay, record: InboundRecord) -> list[OutboundDraft]:
        msg = record.message
        drafts = [
            _reply(record, f"t{i}", body=chunk)
            for i, chunk in enumerate(format_for_whatsapp(msg.body))
        ]
        for i, ref in enumerate(msg.media):
            try:
                media_id = await _keep_media(relay, ref.url, f"image{i}")
                drafts.append(_reply(record, f"m{i}", media_id=media_id, kind="media"))
            except MediaError as exc:
                text = f"I couldn't fetch the file you sent ({exc}). Please send it again."
                drafts.append(_reply(record, f"m{i}", body=text))
        if not drafts:
            text = "I can only echo text and images; that message had neither."
            drafts.append(_reply(record, "none", body=text))
        return drafts


def _reply(record: InboundRecord, part: str, **fields: Any) -> OutboundDraft:
    """A reply to `record`; its key makes handling the message twice harmless."""
    return OutboundDraft(
        key=f"echo:{record.message.sid}:{part}",
        to=record.message.from_number,
        user_id=record.user_id,
        inbound_id=record.id,
        **fields,
    )


async def _keep_media(relay: Relay, url: str, name: str) -> str:
    data, content_type = await relay.channel.fetch_media(url, MAX_INBOUND_MEDIA_BYTES)
    return await keep_media(relay, data, content_type, name)

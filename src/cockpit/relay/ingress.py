"""What the inbound webhook does once the request is verified: refuse or store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from cockpit.core.messages import Inbound, OutboundDraft
from cockpit.relay.runtime import Relay
from cockpit.store import inbox

REFUSAL = (
    "Hi! This WhatsApp number is a private coding assistant and doesn't know your "
    "number, so your message was not passed on. If you expected access, ask the "
    "person who runs it to add you."
)

PAUSED = (
    "Your cockpit account is paused, so this message was not passed on. "
    "Resume it on your account page: {url}/account"
)

Outcome = Literal["accepted", "duplicate", "refused"]


def accept(relay: Relay, msg: Inbound) -> Outcome:
    """Store a message from a known sender, or queue one polite refusal a day."""
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    refusal = OutboundDraft(
        key=f"refusal:{msg.from_number}:{day}", to=msg.from_number, body=REFUSAL, kind="refusal"
    )
    paused = OutboundDraft(
        key=f"paused:{msg.from_number}:{day}", to=msg.from_number,
        body=PAUSED.format(url=relay.settings.public_url or ""), kind="refusal",
    )  # fmt: skip
    return inbox.accept(
        relay.db, msg, relay.settings.allowed_numbers, refusal, relay.clock(), paused=paused
    )

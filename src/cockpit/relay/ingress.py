"""What the inbound webhook does once the request is verified: refuse or store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from cockpit.core import signup
from cockpit.core.messages import Inbound, OutboundDraft
from cockpit.relay.runtime import Relay
from cockpit.store import inbox, phone_proofs

REFUSAL = (
    "Hi! This WhatsApp number is a private coding assistant and doesn't know your "
    "number, so your message was not passed on. If you expected access, ask the "
    "person who runs it to add you."
)

PAUSED = (
    "Your cockpit account is paused, so this message was not passed on. "
    "Resume it on your account page: {url}/account"
)

Outcome = Literal["accepted", "duplicate", "refused", "proof"]


def accept(relay: Relay, msg: Inbound) -> Outcome:
    """Take a click-to-chat code, store a message from a known sender, or queue one
    polite refusal a day."""
    if _proof(relay, msg):
        return "proof"
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    refusal = OutboundDraft(
        key=f"refusal:{msg.from_number}:{day}", to=msg.from_number, body=REFUSAL, kind="refusal"
    )
    paused = OutboundDraft(
        key=f"paused:{msg.from_number}:{day}", to=msg.from_number,
        body=PAUSED.format(url=relay.settings.public_url or ""), kind="refusal",
    )  # fmt: skip
    return inbox.accept(
        relay.db, msg, relay.settings.allowed_numbers, refusal, relay.clock.now(), paused=paused
    )


def _proof(relay: Relay, msg: Inbound) -> bool:
    """A message that is a code shown on a signup or sign-in page for this very number:
    it proves the number (before any "unknown number" refusal, so a person who is not a
    user yet can prove theirs), opens the 24-hour window, and is answered, not stored.
    A retry of the same message finds the proof already made and answers nothing new."""
    code = signup.code_in_message(msg.body or "") if not msg.media else None
    if code is None or relay.settings.secret_key is None:
        return False
    digest = signup.code_digest(relay.settings.secret_key.get_secret_value(), msg.from_number, code)

    def reply(purpose: str) -> OutboundDraft:
        body = signup.PROVEN.get(purpose, signup.PROVEN["signup"])
        return OutboundDraft(key=f"proof:{msg.sid}", to=msg.from_number, body=body, kind="notice")

    return phone_proofs.prove(relay.db, msg.from_number, digest, reply, relay.clock.now())

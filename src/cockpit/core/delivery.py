"""Why a message could not be delivered, in words a user understands (for /status)."""

from __future__ import annotations

# Twilio's error codes (https://www.twilio.com/docs/api/errors) that a phone user can act on.
_PLAIN = {
    21211: "your number is not a valid WhatsApp number",
    21408: "sending to your country is not enabled",
    21610: "your number has opted out (it sent STOP)",
    21614: "your number cannot receive messages",
    21617: "the message was too long",
    30003: "your phone was unreachable",
    30004: "the message was blocked",
    30005: "your number is unknown to the network",
    30006: "your number cannot receive messages",
    30007: "the carrier filtered the message",
    30008: "the carrier did not say why",
    63003: "WhatsApp could not reach your number",
    63016: "WhatsApp's 24-hour window was closed and no template could be sent",
    63018: "WhatsApp's rate limit was reached",
    63019: "WhatsApp could not download an image",
    63024: "WhatsApp could not reach your number",
}


def in_words(code: int | None, error: str | None) -> str:
    """A short sentence for a failed delivery: a known code's meaning, else the error."""
    if code in _PLAIN:
        return f"{_PLAIN[code]} (error {code})"
    text = " ".join((error or "").split())
    if not text:
        return f"Twilio reported error {code}" if code else "the reason is unknown"
    return text if len(text) <= 120 else text[:119] + "…"

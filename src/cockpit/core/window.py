"""WhatsApp's 24-hour customer-service window, as rules without I/O.

A free-form message reaches a phone only within 24 hours of that phone's last
message to us; outside it WhatsApp refuses it (Twilio error 63016) and only an
approved template may be sent. The relay holds free-form messages while the
window is closed, sends one template that asks the user to reply, and releases
the held messages in order when the reply arrives (docs/whatsapp-window.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta

WINDOW = timedelta(hours=24)
OUTSIDE_WINDOW = 63016  # Twilio: "Failed to send freeform message ... outside the allowed window"
REOPEN_TEXT = "Your task finished. Reply to see the result."


def is_open(last_inbound: datetime | None, now: datetime, margin: timedelta) -> bool:
    """Whether a free-form message sent `now` is inside the window.

    An unknown last message (a user who never wrote, or wrote before we kept
    track) counts as open: the send is tried, and Twilio's 63016 answer, if it
    comes, closes the window then. `margin` closes it early, so that a message
    still in flight when the 24 hours end is not refused.
    """
    return last_inbound is None or now - last_inbound < WINDOW - margin


def reopen_key(user_id: int, last_inbound: datetime | None) -> str:
    """The outbox key of the template that re-opens one closed window: one per window."""
    epoch = last_inbound.isoformat() if last_inbound is not None else "never"
    return f"reopen:{user_id}:{epoch}"

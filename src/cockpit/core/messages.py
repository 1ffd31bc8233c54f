"""Messages as the relay sees them, independent of any provider."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MediaRef:
    """A media item attached to an inbound message, as the provider offers it."""

    url: str
    content_type: str


@dataclass(frozen=True)
class Inbound:
    """One message from a phone, parsed from the provider's webhook."""

    sid: str
    from_number: str
    to: str
    body: str
    media: tuple[MediaRef, ...] = ()
    profile_name: str | None = None
    wa_id: str | None = None
    replied_sid: str | None = None
    button_payload: str | None = None


@dataclass(frozen=True)
class OutboundDraft:
    """A message to send; `key` makes writing it twice a no-op."""

    key: str
    to: str
    body: str = ""
    media_id: str | None = None
    kind: str = "text"
    user_id: int | None = None
    inbound_id: int | None = None
    session: str | None = None
    turn_id: str | None = None
    # An approved WhatsApp template (Twilio Content API) instead of `body`; `body`
    # then holds the template's text, for the record.
    content_sid: str | None = None
    content_variables: str | None = None
    # Buttons or a list (core/interactive.py kind): sent through the Content API with
    # `content_variables`; `body` is the numbered text sent when that is not possible.
    interactive: str | None = None
    # Thread economy (store/outbox.py `place`): hold this row up to `hold_seconds` for
    # what may join it; `merge` appends this text to the turn's held row instead;
    # `supersedes` drops the turn's held row of that kind (an approval replaces the
    # progress line of the same tool call).
    hold_seconds: float = 0.0
    merge: bool = False
    supersedes: str | None = None


@dataclass(frozen=True)
class SendReceipt:
    """What the provider answered to an accepted send."""

    sid: str
    status: str


@dataclass(frozen=True)
class MessageStatus:
    """A sent message's delivery status as the provider reports it when asked."""

    sid: str
    status: str
    error_code: int | None = None


@dataclass(frozen=True)
class SentMessage:
    """A message the provider lists as sent to a number (for reconciliation)."""

    sid: str
    to: str
    body: str
    num_media: int
    status: str
    extra: dict[str, str] = field(default_factory=dict)

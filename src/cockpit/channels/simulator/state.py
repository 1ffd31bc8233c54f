"""What the phone simulator remembers: messages, media, send attempts and fault knobs.

Everything lives in memory and on one event loop; listeners (the page's live
stream) subscribe per phone number and get every change of that number's thread.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

INBOUND = "inbound"  # from the simulated phone to the relay
OUTBOUND = "outbound-api"  # from the relay, through the Messages API, to the phone


def new_sid(prefix: str) -> str:
    """A Twilio-style SID: two letters and 32 lowercase hex digits."""
    return prefix + secrets.token_hex(16)


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


@dataclass
class SimMedia:
    """One image of a message; `data` is None until fetched (or when fetching failed)."""

    id: str
    content_type: str | None = None
    data: bytes | None = None
    source_url: str | None = None


@dataclass
class SimMessage:
    """One WhatsApp message between a simulated phone and the relay, either way."""

    sid: str
    direction: str
    number: str
    from_: str
    to: str
    body: str
    media: list[SimMedia] = field(default_factory=list)
    status: str = "queued"
    date_created: datetime = field(default_factory=utcnow)
    date_updated: datetime = field(default_factory=utcnow)
    date_sent: datetime | None = None
    error_code: int | None = None
    error_message: str | None = None
    reply_to: str | None = None
    profile_name: str | None = None
    status_callback: str | None = None
    relay_status: int | None = None
    relay_error: str | None = None
    content_sid: str | None = None  # sent as an approved template (Content API)
    # Quick-reply buttons, or a list-picker's items (then `list_button` is its button),
    # each {"title", "id"}; a tap on the phone posts the id as ButtonPayload.
    buttons: list[dict[str, str]] = field(default_factory=list)
    list_button: str | None = None
    button_payload: str | None = None  # a tap: the id of the tapped button
    button_text: str | None = None
    # Why the message never reaches the phone (63016: outside the window; 30003: the
    # handset is off): Twilio lists it as failed or undelivered, the phone never sees it.
    refusal: int | None = None

    @property
    def on_phone(self) -> bool:
        """Whether the phone shows this message (WhatsApp refused none of it)."""
        return self.refusal is None

    def set_status(
        self, status: str, error_code: int | None = None, error: str | None = None
    ) -> None:
        """Move the message to `status`, stamping the update (and send) times."""
        self.status = status
        self.date_updated = utcnow()
        if status == "sent" and self.date_sent is None:
            self.date_sent = self.date_updated
        if error_code is not None:
            self.error_code, self.error_message = error_code, error


@dataclass(frozen=True)
class TypingChange:
    """The "typing…" indicator of a phone's thread: shown until `until`, or gone (None)."""

    number: str
    until: datetime | None


Change = SimMessage | TypingChange


@dataclass
class SendAttempt:
    """One request to the Messages API's create endpoint, whatever its outcome."""

    at: float
    monotonic: float
    to: str | None
    body: str | None
    status: int | None = None
    sid: str | None = None
    fault: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The attempt as a JSON object."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class Faults:
    """Knobs that make the simulator misbehave the way Twilio sometimes does.

    Counters (`*_next`, `drop_callbacks`, ...) are consumed one request or
    callback at a time.
    """

    fail_next: int = 0
    fail_status: int = 500
    retry_after: float = 1.0
    hang_next: int = 0
    accept_then_hang_next: int = 0
    hang_seconds: float = 60.0
    drop_callbacks: int = 0
    duplicate_callbacks: int = 0
    duplicate_webhooks: int = 0
    callback_delay: float = 0.05
    # WhatsApp refuses free-form messages outside the 24-hour window. Twilio accepts
    # them and reports error 63016 by status callback; 1 makes the create request
    # itself answer 400 with code 63016 instead.
    window_refusal_sync: int = 0
    # The next messages are accepted, then fail by callback as `undelivered` with
    # 30003 (the handset is unreachable), as Twilio reports a phone that is off.
    undelivered_next: int = 0
    # The next Content API creates answer 500; the next typing indicators answer 400.
    content_fail_next: int = 0
    typing_fail_next: int = 0

    def take(self, name: str) -> bool:
        """Consume one unit of counter `name`; True when one was left."""
        left: int = getattr(self, name)
        if left <= 0:
            return False
        setattr(self, name, left - 1)
        return True

    def update(self, changes: dict[str, Any]) -> None:
        """Set the knobs named in `changes`; unknown names or bad values raise ValueError."""
        known = {f.name: f for f in fields(self)}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown fault knob {name!r}")
            kind = float if known[name].type == "float" else int
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} must be a non-negative number")
            setattr(self, name, kind(value))

    def as_json(self) -> dict[str, Any]:
        """The knobs as a JSON object."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


class SimState:
    """Messages, media and attempts in arrival order, with per-number listeners."""

    def __init__(self) -> None:
        self.messages: list[SimMessage] = []
        self.attempts: list[SendAttempt] = []
        self._by_sid: dict[str, SimMessage] = {}
        self._media: dict[str, SimMedia] = {}
        self._listeners: dict[str, set[asyncio.Queue[Change | None]]] = {}
        # When each phone last wrote: WhatsApp's 24-hour window runs from here.
        self.last_inbound: dict[str, datetime] = {}
        self._typing: dict[str, datetime] = {}  # number -> "typing…" shown until

    def add(self, message: SimMessage) -> None:
        """Record a new message and tell its number's listeners."""
        self.messages.append(message)
        self._by_sid[message.sid] = message
        for media in message.media:
            self._media[media.id] = media
        self.changed(message)
        if message.direction == OUTBOUND and message.on_phone:
            self.set_typing(message.number, None)  # a message ends "typing…"

    def get(self, sid: str) -> SimMessage | None:
        """The message with this SID, if any."""
        return self._by_sid.get(sid)

    def media(self, media_id: str) -> SimMedia | None:
        """The media item with this id, if any."""
        return self._media.get(media_id)

    def thread(self, number: str | None = None) -> list[SimMessage]:
        """Messages of one phone number (all when None), oldest first."""
        return [m for m in self.messages if m.on_phone and (number is None or m.number == number)]

    def record_attempt(self, to: str | None, body: str | None) -> SendAttempt:
        """Note a create request as it arrives; its outcome is filled in later."""
        attempt = SendAttempt(at=time.time(), monotonic=time.monotonic(), to=to, body=body)
        self.attempts.append(attempt)
        return attempt

    def clear(self) -> None:
        """Forget every message, media item and attempt (listeners stay)."""
        self.messages.clear()
        self.attempts.clear()
        self._by_sid.clear()
        self._media.clear()
        self.last_inbound.clear()
        self._typing.clear()

    def typing_until(self, number: str) -> datetime | None:
        """Until when the phone shows "typing…" (None: not now)."""
        until = self._typing.get(number)
        return until if until is not None and until > utcnow() else None

    def set_typing(self, number: str, until: datetime | None) -> None:
        """Show "typing…" on `number`'s phone until `until` (None: stop) and tell listeners."""
        if until is None and self._typing.pop(number, None) is None:
            return
        if until is not None:
            self._typing[number] = until
        for queue in self._listeners.get(number, set()):
            queue.put_nowait(TypingChange(number, until))

    def changed(self, message: SimMessage) -> None:
        """Tell the listeners of the message's number that it is new or changed."""
        if not message.on_phone:
            return
        for queue in self._listeners.get(message.number, set()):
            queue.put_nowait(message)

    def subscribe(self, number: str) -> asyncio.Queue[Change | None]:
        """A queue that receives every change of `number`'s thread (None: stream over)."""
        queue: asyncio.Queue[Change | None] = asyncio.Queue()
        self._listeners.setdefault(number, set()).add(queue)
        return queue

    def unsubscribe(self, number: str, queue: asyncio.Queue[Change | None]) -> None:
        """Stop sending changes to `queue`."""
        self._listeners.get(number, set()).discard(queue)

    def close_listeners(self) -> None:
        """End every live stream (at shutdown)."""
        for queues in self._listeners.values():
            for queue in queues:
                queue.put_nowait(None)

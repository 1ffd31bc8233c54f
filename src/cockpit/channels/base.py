"""The `Channel` port: how the relay sends messages and checks webhooks."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from cockpit.core.messages import MessageStatus, SendReceipt, SentMessage


class Channel(Protocol):
    """A messaging provider as the relay needs it."""

    async def send(
        self,
        to: str,
        body: str,
        media_url: str | None,
        status_callback: str | None,
        *,
        content_sid: str | None = None,
        content_variables: str | None = None,
    ) -> SendReceipt:
        """Send one message; raise a ChannelError subclass when it was not accepted.

        With `content_sid` an approved template is sent instead of `body` (the only
        thing WhatsApp delivers outside the 24-hour window)."""
        ...

    async def create_content(self, definition: Mapping[str, Any]) -> str:
        """Create a Content API template from `definition`; its content SID (HX…)."""
        ...

    async def typing(self, message_sid: str) -> None:
        """Show the typing indicator for the inbound message `message_sid`; raise a
        ChannelError subclass when it was not accepted."""
        ...

    async def sent_since(self, to: str, since: datetime) -> list[SentMessage]:
        """Messages the provider lists as sent to `to` since `since` (for reconciliation)."""
        ...

    async def status(self, sid: str) -> MessageStatus:
        """The provider's current status of the message `sid` (when a callback was lost)."""
        ...

    async def fetch_media(self, url: str, max_bytes: int) -> tuple[bytes, str]:
        """The bytes and content type of media a phone sent."""
        ...

    def is_signed(self, url: str, params: Mapping[str, str], signature: str) -> bool:
        """Whether a webhook to `url` with `params` carries a valid signature."""
        ...

    async def aclose(self) -> None:
        """Close network clients."""
        ...

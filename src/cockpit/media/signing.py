"""Signed, expiring tokens for links the relay hands out (`/media/…`, `/full/…`)."""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from cockpit.core.clock import Clock, SystemClock


def _signer_on(clock: Clock) -> type[TimestampSigner]:
    """itsdangerous's signer, reading time from `clock` (so tests move it forward)."""

    class ClockedSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock.now().timestamp())

    return ClockedSigner


class MediaSigner:
    """Makes and checks tokens that name a value for a limited time, per purpose."""

    def __init__(self, secret: str, ttl_seconds: int, clock: Clock | None = None):
        self._secret = secret
        self.ttl_seconds = ttl_seconds
        self._signer: Any = _signer_on(clock or SystemClock())

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        # A token made for one purpose (a media file) never opens another (an answer).
        return URLSafeTimedSerializer(self._secret, salt=f"cockpit.{purpose}", signer=self._signer)

    def token(self, value: str, purpose: str = "media") -> str:
        """A URL-safe token for `value`."""
        return self._serializer(purpose).dumps(value)

    def media_id(self, token: str, purpose: str = "media") -> str | None:
        """The value of a valid, unexpired token for `purpose`, else None."""
        try:
            value = self._serializer(purpose).loads(token, max_age=self.ttl_seconds)
        except BadSignature:
            return None
        return value if isinstance(value, str) else None

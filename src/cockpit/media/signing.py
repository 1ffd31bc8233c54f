"""Signed, expiring media tokens for `GET /media/{token}`."""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeTimedSerializer


class MediaSigner:
    """Makes and checks tokens that name a media id for a limited time."""

    def __init__(self, secret: str, ttl_seconds: int):
        self._serializer = URLSafeTimedSerializer(secret, salt="cockpit.media")
        self.ttl_seconds = ttl_seconds

    def token(self, media_id: str) -> str:
        """A URL-safe token for `media_id`."""
        return self._serializer.dumps(media_id)

    def media_id(self, token: str) -> str | None:
        """The media id of a valid, unexpired token, else None."""
        try:
            value = self._serializer.loads(token, max_age=self.ttl_seconds)
        except BadSignature:
            return None
        return value if isinstance(value, str) else None

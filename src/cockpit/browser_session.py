"""The signed session cookie and CSRF token of every page a browser posts to.

One scheme for the web pages (`cockpit_web`) and /admin (`cockpit_admin`): the cookie
holds only ids and flags (never a key or a code), signed and dated by itsdangerous,
`HttpOnly`, `Secure` when the public URL is https, with its own name, path, SameSite,
lifetime and salt per surface, so one surface's cookie never opens the other. Each
session carries a random CSRF token that every form sends back; a form without it, or
with another session's, is refused with 403 before anything is done.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import HTTPException, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

Keys = str | list[str]  # one key, or oldest first: the last signs, every one is accepted


class BrowserSession(dict[str, Any]):
    """A decoded session; `sid` and `csrf` are always present."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        super().__init__(data or {})
        self.setdefault("sid", secrets.token_urlsafe(32))
        self.setdefault("csrf", secrets.token_hex(32))

    @property
    def csrf(self) -> str:
        return str(self["csrf"])

    @property
    def sid(self) -> str:
        return str(self["sid"])

    def renew(self) -> None:
        """A new session id and CSRF token (at sign-in and sign-out)."""
        self["sid"] = secrets.token_urlsafe(32)
        self["csrf"] = secrets.token_hex(32)

    def check_csrf(self, form: dict[str, str], refusal: str) -> None:
        """Refuse (403 `refusal`) a form that does not carry this session's CSRF token."""
        given = form.get("csrf", "")
        if not given or not hmac.compare_digest(given.encode(), self.csrf.encode()):
            raise HTTPException(403, refusal)


@dataclass(frozen=True)
class SessionCookie:
    """One surface's session cookie: where it is sent, for how long, and its signature."""

    name: str
    keys: Keys
    salt: str
    max_age: int
    secure: bool
    path: str = "/"
    samesite: Literal["lax", "strict"] = "lax"

    def _serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.keys, salt=self.salt)

    def load(self, request: Request) -> BrowserSession | None:
        """The request's session; None when the cookie is missing, forged or expired."""
        raw = request.cookies.get(self.name, "")
        if not raw:
            return None
        try:
            data = self._serializer().loads(raw, max_age=self.max_age)
        except BadSignature:  # also covers SignatureExpired
            return None
        return BrowserSession(data) if isinstance(data, dict) else None

    def save(self, response: Response, session: BrowserSession) -> None:
        """Write `session` onto `response` (signed now, valid for `max_age` from now)."""
        response.set_cookie(
            self.name, self._serializer().dumps(dict(session)), max_age=self.max_age,
            path=self.path, httponly=True, samesite=self.samesite, secure=self.secure,
        )  # fmt: skip

    def clear(self, response: Response) -> None:
        """Tell the browser to drop the cookie."""
        response.delete_cookie(self.name, path=self.path)

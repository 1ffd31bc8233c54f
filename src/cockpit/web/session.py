"""The web pages' session: a cookie signed with COCKPIT_SECRET_KEY, and CSRF tokens.

The cookie holds only ids and flags (never a key or a code): which phone is being
verified (with the nonce its click-to-chat code is derived from), the session's id
and its CSRF token, which every form carries back in a hidden field. itsdangerous
signs and dates the cookie. Who is signed in is the server's record of the session
id (`store.signins`), so logging out ends the session even for a copied cookie.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from fastapi import HTTPException, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "cockpit_web"
MAX_AGE = 12 * 3600  # a sign-in lasts half a day


class WebSession(dict[str, Any]):
    """The decoded session; `csrf` is always present."""

    @property
    def csrf(self) -> str:
        return str(self["csrf"])

    @property
    def sid(self) -> str:
        return str(self["sid"])

    def renew(self) -> None:
        """A new session id and CSRF token (at sign-in and sign-out)."""
        self["sid"] = secrets.token_urlsafe(32)
        self["csrf"] = secrets.token_urlsafe(24)


Keys = str | list[str]  # one key, or oldest first: the last signs, every one is accepted


def _serializer(secret: Keys) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="cockpit.web.session")


def load(request: Request, secret: Keys) -> WebSession:
    """The request's session, or a fresh one when the cookie is missing, forged or old."""
    raw = request.cookies.get(COOKIE, "")
    data: Any = {}
    if raw:
        try:
            data = _serializer(secret).loads(raw, max_age=MAX_AGE)
        except BadSignature:
            data = {}
    session = WebSession(data if isinstance(data, dict) else {})
    session.setdefault("csrf", secrets.token_urlsafe(24))
    session.setdefault("sid", secrets.token_urlsafe(32))
    return session


def save(response: Response, session: WebSession, secret: Keys, *, secure: bool) -> None:
    """Write the session cookie onto `response`."""
    response.set_cookie(
        COOKIE,
        _serializer(secret).dumps(dict(session)),
        max_age=MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )


def check_csrf(session: WebSession, form: dict[str, str]) -> None:
    """Refuse a form that does not carry this session's CSRF token (403, nothing done)."""
    given = form.get("csrf", "")
    if not given or not hmac.compare_digest(given.encode(), session.csrf.encode()):
        raise HTTPException(403, "This form has expired or did not come from this site. Reload it.")

"""The pages' one session scheme (cockpit/browser_session.py)."""

from __future__ import annotations

from fastapi import Request, Response

from cockpit.browser_session import BrowserSession, SessionCookie

KEY = "test-secret-key"
WEB = SessionCookie("cockpit_web", keys=KEY, salt="cockpit.web.session", max_age=60, secure=True)
ADMIN = SessionCookie(
    "cockpit_admin", keys=KEY, salt="cockpit-admin-x", max_age=60, secure=True,
    path="/admin", samesite="strict",
)  # fmt: skip


def _request(name: str, value: str) -> Request:
    cookie = f"{name}={value}".encode()
    return Request({"type": "http", "headers": [(b"cookie", cookie)]})


def _saved(cookie: SessionCookie, session: BrowserSession) -> tuple[str, str]:
    response = Response()
    cookie.save(response, session)
    header = response.headers["set-cookie"]
    return header.split(";", 1)[0].split("=", 1)[1], header.lower()


def test_a_session_comes_back_with_its_csrf_token_and_the_cookie_is_locked_down() -> None:
    """Saved then loaded, the session is the same; the cookie is HttpOnly, Secure, SameSite."""
    session = BrowserSession({"phone": "+15550001111"})
    value, header = _saved(ADMIN, session)
    assert ADMIN.load(_request("cockpit_admin", value)) == session
    assert all(part in header for part in ("httponly", "secure", "samesite=strict", "path=/admin"))


def test_one_surfaces_cookie_is_not_a_session_of_the_other() -> None:
    """An admin cookie sent as the web's (and the reverse) loads as no session at all."""
    admin_value, _ = _saved(ADMIN, BrowserSession({"operator": True}))
    web_value, _ = _saved(WEB, BrowserSession())
    assert WEB.load(_request("cockpit_web", admin_value)) is None
    assert ADMIN.load(_request("cockpit_admin", web_value)) is None
    assert WEB.load(_request("cockpit_web", "forged.value")) is None

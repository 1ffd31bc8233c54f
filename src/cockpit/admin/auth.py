"""Who may see /admin: one operator password, a signed session cookie, CSRF tokens, a throttle.

The password is compared in constant time (hashes of both sides, so lengths leak
nothing). The session is the pages' one scheme (cockpit/browser_session.py): a cookie
holding a session id, a CSRF token and the operator flag, signed with
COCKPIT_SECRET_KEY (not the previous key of a rotation) and salted with a fingerprint
of the password, so changing the password signs every operator out.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import deque
from dataclasses import dataclass, field

from fastapi import Request, Response

from cockpit.browser_session import BrowserSession, SessionCookie

SESSION_SECONDS = 8 * 3600
CSRF_REFUSAL = "The form's CSRF token is missing or wrong; reload the page."


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


class AdminAuth:
    """Checks the password; signs operators in and out; finds the operator of a request."""

    def __init__(self, password: str, secret_key: str, *, secure: bool):
        self._password = _digest(password)
        fingerprint = hashlib.sha256(b"admin:" + self._password).hexdigest()[:16]
        self._cookie = SessionCookie(
            "cockpit_admin", keys=secret_key, salt=f"cockpit-admin-{fingerprint}",
            max_age=SESSION_SECONDS, secure=secure, path="/admin", samesite="strict",
        )  # fmt: skip

    def password_ok(self, given: str) -> bool:
        """Whether `given` is the operator password (constant time)."""
        return hmac.compare_digest(_digest(given), self._password)

    def sign_in(self, response: Response) -> None:
        """Give the browser a fresh operator session."""
        self._cookie.save(response, BrowserSession({"operator": True}))

    def sign_out(self, response: Response) -> None:
        """Drop the browser's session cookie (a copy stays valid until it expires)."""
        self._cookie.clear(response)

    def operator(self, request: Request) -> BrowserSession | None:
        """The operator's session of a valid, unexpired cookie; None otherwise."""
        session = self._cookie.load(request)
        return session if session is not None and session.get("operator") is True else None


@dataclass
class LoginThrottle:
    """At most `limit` failed logins per client address in `window` seconds.

    In memory, per relay process. Behind a proxy every client shares the proxy's
    address, so the limit then applies to everyone at once: brute force stays
    bounded, at the price of locking the operator out for `window` at worst.
    """

    limit: int = 5
    window: float = 900.0
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def attempt(self, client: str) -> int:
        """Seconds until `client` may try again (0: it may try now, and this try is counted
        as a failure at once, before anything is awaited, so that parallel tries cannot all
        pass the check; `succeeded` takes it back)."""
        recent = self._recent(client)
        if len(recent) < self.limit:
            recent.append(time.monotonic())
            return 0
        return max(1, int(recent[0] + self.window - time.monotonic()) + 1)

    def succeeded(self, client: str) -> None:
        """The try counted by `attempt` had the right password: it is not a failure."""
        recent = self._recent(client)
        if recent:
            recent.pop()
        if not recent:
            self._failures.pop(client, None)  # forget quiet clients: memory stays bounded

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures.setdefault(client, deque())
        while failures and failures[0] <= time.monotonic() - self.window:
            failures.popleft()
        return failures

"""Who may see /admin: one operator password, a signed session cookie, CSRF tokens, a throttle.

The password is compared in constant time (hashes of both sides, so lengths leak
nothing). The session cookie carries only a random nonce, signed with
COCKPIT_SECRET_KEY and salted with a fingerprint of the password: changing the
password signs every operator out. Each form carries a CSRF token derived from the
nonce, so a page on another site cannot make the operator's browser post.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from dataclasses import dataclass, field

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "cockpit_admin"
SESSION_SECONDS = 8 * 3600


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


@dataclass(frozen=True)
class Operator:
    """A signed-in operator; `csrf` goes into every form they may post."""

    csrf: str


class AdminAuth:
    """Checks the password, issues and reads session cookies, makes CSRF tokens."""

    def __init__(self, password: str, secret_key: str):
        self._password = _digest(password)
        fingerprint = hashlib.sha256(b"admin:" + self._password).hexdigest()[:16]
        self._secret = secret_key
        self._signer = URLSafeTimedSerializer(secret_key, salt=f"cockpit-admin-{fingerprint}")

    def password_ok(self, given: str) -> bool:
        """Whether `given` is the operator password (constant time)."""
        return hmac.compare_digest(_digest(given), self._password)

    def new_session(self) -> str:
        """A signed cookie value for a fresh session."""
        return self._signer.dumps({"n": secrets.token_urlsafe(16)})

    def operator(self, cookie: str | None) -> Operator | None:
        """The operator of a valid, unexpired session cookie; None otherwise."""
        if not cookie:
            return None
        try:
            data = self._signer.loads(cookie, max_age=SESSION_SECONDS)
        except BadSignature:  # also covers SignatureExpired
            return None
        nonce = data.get("n") if isinstance(data, dict) else None
        return Operator(self._csrf(nonce)) if isinstance(nonce, str) else None

    def _csrf(self, nonce: str) -> str:
        return hmac.new(self._secret.encode(), f"csrf:{nonce}".encode(), "sha256").hexdigest()

    @staticmethod
    def csrf_ok(operator: Operator, given: str) -> bool:
        """Whether a posted form carries the session's CSRF token."""
        return hmac.compare_digest(operator.csrf.encode(), given.encode())


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

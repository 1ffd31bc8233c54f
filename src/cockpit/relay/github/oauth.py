"""GitHub's OAuth web flow for signup: authorize, come back, exchange the code for a token.

Follows GitHub's documented flow: the browser goes to `/login/oauth/authorize`
with our `client_id`, `redirect_uri`, `scope` and a `state`; GitHub sends it back
with `code` and `state`; we POST them to `/login/oauth/access_token` and read
`access_token` from the JSON answer (errors come as 200 with an `error` field).
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode

import httpx

from cockpit.config import Settings
from cockpit.errors import CockpitError

SCOPE = "repo"
TIMEOUT = 15.0


class GitHubOAuthError(CockpitError):
    """GitHub did not give us a token; the message says why, for the person."""


def configured(settings: Settings) -> bool:
    """True when an OAuth app is set up (else signup asks for a token)."""
    return bool(settings.github_client_id and settings.github_client_secret)


def callback_url(settings: Settings) -> str:
    """Where GitHub sends the person back (register it as the app's callback URL)."""
    return f"{settings.public_url}/signup/github/callback"


def state_for(secret: str, csrf: str) -> str:
    """The `state` of this session: proves the callback answers our own redirect."""
    return hmac.new(secret.encode(), f"github-oauth:{csrf}".encode(), hashlib.sha256).hexdigest()


def state_ok(secret: str, csrf: str, state: str) -> bool:
    """True when `state` is this session's."""
    return bool(state) and hmac.compare_digest(state.encode(), state_for(secret, csrf).encode())


def authorize_url(settings: Settings, secret: str, csrf: str) -> str:
    """GitHub's authorize page for this session."""
    query = urlencode({
        "client_id": settings.github_client_id or "",
        "redirect_uri": callback_url(settings),
        "scope": SCOPE,
        "state": state_for(secret, csrf),
        "allow_signup": "true",
    })  # fmt: skip
    return f"{settings.github_oauth_base_url}/login/oauth/authorize?{query}"


async def exchange(settings: Settings, code: str) -> str:
    """The access token GitHub gives for `code`, or GitHubOAuthError saying why not."""
    assert settings.github_client_secret is not None
    data = {
        "client_id": settings.github_client_id or "",
        "client_secret": settings.github_client_secret.get_secret_value(),
        "code": code,
        "redirect_uri": callback_url(settings),
    }
    url = f"{settings.github_oauth_base_url}/login/oauth/access_token"
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            response = await client.post(url, data=data, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise GitHubOAuthError(f"GitHub could not be reached ({type(exc).__name__}).") from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    token = body.get("access_token")
    if response.status_code != 200 or not isinstance(token, str) or not token:
        reason = body.get("error_description") or body.get("error")
        raise GitHubOAuthError(f"GitHub refused the sign-in: {reason or response.status_code}.")
    return token

"""A stand-in for GitHub's OAuth web flow, served over real HTTP on loopback.

As GitHub documents it (docs.github.com/apps/oauth-apps/building-oauth-apps/
authorizing-oauth-apps):

* `GET /login/oauth/authorize?client_id&redirect_uri&scope&state` — the person
  approves; here the approval is immediate (`approve=False` makes them deny): a
  `302` back to `redirect_uri?code=…&state=…` (or `?error=access_denied&…`).
  An unknown `client_id` gets a `404` page, a `redirect_uri` outside the app's
  callback URL a page saying so (GitHub does not redirect then either).
* `POST /login/oauth/access_token` (form fields `client_id`, `client_secret`,
  `code`, `redirect_uri`; `Accept: application/json`) — `200` with
  `{"access_token": "gho_…", "token_type": "bearer", "scope": "repo"}`. Errors
  are also `200`, with `error`, `error_description` and `error_uri`:
  `incorrect_client_credentials`, `redirect_uri_mismatch`, `bad_verification_code`
  (unknown, used or expired code — a code works once, for 10 minutes).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.live import serve

CODE_SECONDS = 600
DOCS = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors"


@dataclass
class GitHubOAuthFake:
    """One OAuth app (`client_id`, `client_secret`, `callback`) and the tokens it gave."""

    client_id: str = "Iv1.cockpittest0001"
    client_secret: str = "cockpit-test-client-secret-0000000000000"
    callback: str = ""
    approve: bool = True
    url: str = ""
    tokens: list[str] = field(default_factory=list)
    _codes: dict[str, tuple[str, float]] = field(default_factory=dict)

    async def authorize(self, request: Request) -> Response:
        """The authorize page: approve at once and send the browser back with a code."""
        query = request.query_params
        if query.get("client_id") != self.client_id:
            return HTMLResponse("<h1>404</h1>", status_code=404)
        redirect = query.get("redirect_uri") or self.callback
        if not redirect.startswith(self.callback):
            return HTMLResponse("<p>The redirect_uri is not associated with this application.</p>")
        state = query.get("state", "")
        if not self.approve:
            denied = {"error": "access_denied", "error_description": "The user has denied your "
                      "application access.", "state": state}  # fmt: skip
            return RedirectResponse(f"{redirect}?{urlencode(denied)}", status_code=302)
        code = secrets.token_hex(10)
        self._codes[code] = (redirect, time.monotonic() + CODE_SECONDS)
        return RedirectResponse(f"{redirect}?{urlencode({'code': code, 'state': state})}", 302)

    async def access_token(self, request: Request) -> Response:
        """Exchange a code for a token, with GitHub's errors (all answered 200)."""
        form = await request.form()
        fields = {k: str(v) for k, v in form.items()}
        if (fields.get("client_id"), fields.get("client_secret")) != (
            self.client_id, self.client_secret,
        ):  # fmt: skip
            return _error("incorrect_client_credentials",
                          "The client_id and/or client_secret passed are incorrect.")  # fmt: skip
        issued = self._codes.pop(fields.get("code", ""), None)
        if issued is None or issued[1] < time.monotonic():
            return _error("bad_verification_code", "The code passed is incorrect or expired.")
        if fields.get("redirect_uri") and fields["redirect_uri"] != issued[0]:
            return _error("redirect_uri_mismatch",
                          "The redirect_uri MUST match the registered callback URL for this "
                          "application.")  # fmt: skip
        token = "gho_" + secrets.token_hex(18)
        self.tokens.append(token)
        return JSONResponse({"access_token": token, "token_type": "bearer", "scope": "repo"})

    def app(self) -> Starlette:
        """The ASGI app of the stand-in."""
        return Starlette(
            routes=[
                Route("/login/oauth/authorize", self.authorize, methods=["GET"]),
                Route("/login/oauth/access_token", self.access_token, methods=["POST"]),
            ]
        )


def _error(error: str, description: str) -> Response:
    return JSONResponse({"error": error, "error_description": description, "error_uri": DOCS})


def running_oauth_fake(callback: str) -> Iterator[GitHubOAuthFake]:
    """Serve a GitHubOAuthFake whose app calls back to `callback`, until closed."""
    fake = GitHubOAuthFake(callback=callback)
    with serve(fake.app()) as url:
        fake.url = url
        yield fake

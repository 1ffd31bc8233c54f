"""What every web page handler needs: the relay, the session, forms and rendering."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from cockpit.browser_session import BrowserSession, SessionCookie
from cockpit.relay.forms import read_form
from cockpit.relay.runtime import Relay
from cockpit.relay.workers import Jobs
from cockpit.store import signins

MAX_FORM_BYTES = 16 * 1024
SESSION_SECONDS = 12 * 3600  # a sign-in lasts half a day
CSRF_REFUSAL = "This form has expired or did not come from this site. Reload it."
templates = Environment(
    loader=PackageLoader("cockpit.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


class Web:
    """One request to a page: its relay, its signed session and how to answer."""

    def __init__(self, request: Request):
        self.request = request
        self.relay: Relay = request.app.state.relay
        self.settings = self.relay.settings
        assert self.settings.secret_key is not None, "the relay requires COCKPIT_SECRET_KEY"
        self.secret = self.settings.secret_key.get_secret_value()
        # The cookie holds which phone is being proven (with the nonce its code comes from),
        # the session id and the CSRF token; who is signed in is the server's record of the
        # session id (`store.signins`), so signing out ends the session for a copied cookie.
        self._cookie = SessionCookie(
            "cockpit_web", salt="cockpit.web.session", max_age=SESSION_SECONDS,
            # During a key rotation cookies signed with the previous key still open.
            keys=[k.get_secret_value() for k in reversed(self.settings.secret_keyring)],
            secure=(self.settings.public_url or "").startswith("https://"),
        )  # fmt: skip
        self.session = self._cookie.load(request) or BrowserSession()

    @property
    def hosts(self) -> Any:
        """The relay's HostManager, or None (echo agent, or no lifespan in a test)."""
        return getattr(self.request.app.state, "hosts", None)

    @property
    def jobs(self) -> Jobs:
        jobs: Jobs = self.request.app.state.jobs
        return jobs

    @property
    def address(self) -> str:
        """The client's address, as the relay's server sees it (after trusted proxies)."""
        return self.request.client.host if self.request.client else "?"

    async def user_id(self) -> int | None:
        """The user this session is signed in as, per the server's record (not the cookie)."""
        return await self.relay.store(signins.user_of, self.session.sid)

    async def sign_in(self, user_id: int) -> None:
        """Sign this browser in as `user_id`, under a new session id."""
        self.session.renew()
        await self.relay.store(signins.sign_in, self.session.sid, user_id,
                        seconds=SESSION_SECONDS)  # fmt: skip

    async def sign_out(self) -> None:
        """End this session on the server too; the browser gets a fresh one."""
        await self.relay.store(signins.sign_out, self.session.sid)
        self.session.clear()
        self.session.renew()

    async def form(self) -> dict[str, str]:
        """The posted form, refused (403) unless it carries the session's CSRF token."""
        fields = await read_form(self.request, MAX_FORM_BYTES)
        self.session.check_csrf(fields, CSRF_REFUSAL)
        return fields

    def finish(self, response: Response) -> Response:
        """`response` with the session cookie and the pages' headers."""
        self._cookie.save(response, self.session)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    def page(self, template: str, status: int = 200, /, **context: Any) -> Response:
        """The `template` rendered with `context` (and the CSRF token)."""
        html = templates.get_template(template).render(csrf=self.session.csrf, **context)
        return self.finish(HTMLResponse(html, status_code=status))

    def redirect(self, url: str) -> Response:
        """See other: after a form is handled, the browser GETs the next step."""
        return self.finish(RedirectResponse(url, status_code=303))


def not_found(what: str) -> HTTPException:
    """A 404 that names what is missing."""
    return HTTPException(404, what)

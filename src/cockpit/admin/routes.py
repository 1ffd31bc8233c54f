"""The /admin routes: login, pages, and the retry of a failed message.

Every page needs a signed-in operator; every POST (except the login itself) needs
the session's CSRF token. Without COCKPIT_ADMIN_PASSWORD every /admin path
answers 404 saying how to turn the pages on.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from cockpit import report
from cockpit.admin import views
from cockpit.admin.auth import CSRF_REFUSAL, AdminAuth, LoginThrottle
from cockpit.admin.templating import render
from cockpit.browser_session import BrowserSession
from cockpit.log import get_logger
from cockpit.relay.forms import read_form
from cockpit.relay.runtime import Relay
from cockpit.store import outbox, reports, users

log = get_logger(__name__)
FORM_BYTES = 4096  # a password or a CSRF token; anything bigger is not our form
OFF = "The admin pages are off: set COCKPIT_ADMIN_PASSWORD to turn them on."


def _relay(request: Request) -> Relay:
    relay: Relay = request.app.state.relay
    return relay


def _auth(request: Request) -> AdminAuth:
    """The app's AdminAuth, made on first use; 404 when no password is configured."""
    auth: AdminAuth | None = getattr(request.app.state, "admin_auth", None)
    if auth is None:
        settings = _relay(request).settings
        if settings.admin_password is None or settings.secret_key is None:
            raise HTTPException(404, OFF)
        password = settings.admin_password.get_secret_value()
        if not password:
            raise HTTPException(404, OFF)
        secure = (settings.public_url or "").startswith("https://")
        auth = AdminAuth(password, settings.secret_key.get_secret_value(), secure=secure)
        request.app.state.admin_auth = auth
    return auth


def _operator(request: Request) -> BrowserSession | None:
    return _auth(request).operator(request)


def _signed_in(request: Request) -> BrowserSession:
    """The signed-in operator; otherwise a redirect to the login page."""
    operator = _operator(request)
    if operator is None:
        raise HTTPException(303, "Sign in first.", headers={"Location": "/admin/login"})
    return operator


def _page(
    request: Request, operator: BrowserSession, template: str, **context: Any
) -> HTMLResponse:
    return HTMLResponse(render(template, csrf=operator.csrf, path=request.url.path, **context))


async def _posted(request: Request) -> tuple[BrowserSession, dict[str, str]]:
    """The operator and form of a POST; 403 without a session or the right CSRF token."""
    operator = _operator(request)
    if operator is None:
        raise HTTPException(403, "Sign in at /admin/login first.")
    form = await read_form(request, FORM_BYTES)
    operator.check_csrf(form, CSRF_REFUSAL)
    return operator, form


def build_admin_router() -> APIRouter:
    """The /admin pages; one login throttle per router (per relay process)."""
    router = APIRouter(prefix="/admin", include_in_schema=False)
    throttle = LoginThrottle()

    @router.get("/login")
    async def login_form(request: Request) -> Response:
        _auth(request)
        return HTMLResponse(render("login.html", error=None))

    @router.post("/login")
    async def login(request: Request) -> Response:
        auth = _auth(request)
        client = request.client.host if request.client else "?"
        wait = throttle.attempt(client)  # counted before the first await
        if wait:
            log.warning("admin.login_throttled", client=client)
            error = f"Too many wrong passwords. Try again in {wait} s."
            page = render("login.html", error=error)
            return HTMLResponse(page, status_code=429, headers={"Retry-After": str(wait)})
        form = await read_form(request, FORM_BYTES)
        if not auth.password_ok(form.get("password", "")):
            log.warning("admin.login_failed", client=client)
            return HTMLResponse(render("login.html", error="Wrong password."), status_code=401)
        throttle.succeeded(client)
        log.info("admin.login", client=client)
        response = RedirectResponse("/admin", status_code=303)
        auth.sign_in(response)
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        await _posted(request)
        response = RedirectResponse("/admin/login", status_code=303)
        _auth(request).sign_out(response)
        return response

    @router.get("")
    async def home(request: Request) -> Response:
        operator = _signed_in(request)
        relay = _relay(request)
        data = await views.overview(relay)
        metrics = views.metric_rows(relay.metrics.registry)
        return _page(request, operator, "overview.html", metrics=metrics, **data)

    @router.get("/users")
    async def users_page(request: Request) -> Response:
        operator = _signed_in(request)
        people = await _relay(request).store(users.list_users)
        return _page(request, operator, "users.html", users=people)

    @router.get("/hosts")
    async def hosts_page(request: Request) -> Response:
        operator = _signed_in(request)
        manager = getattr(request.app.state, "hosts", None)
        rows = await views.host_rows(_relay(request), manager)
        return _page(request, operator, "hosts.html", rows=rows)

    @router.get("/messages")
    async def messages_page(request: Request) -> Response:
        operator = _signed_in(request)
        data = await views.messages(_relay(request))
        return _page(request, operator, "messages.html", excerpt=views.excerpt, **data)

    @router.get("/failed")
    async def failed_page(request: Request) -> Response:
        operator = _signed_in(request)
        rows = await _relay(request).store(reports.failed_outbound, 100)
        retried = request.query_params.get("retried")
        return _page(request, operator, "failed.html", rows=rows, retried=retried,
                     excerpt=views.excerpt, failure_text=report.failure_text)  # fmt: skip

    @router.post("/failed/{outbound_id}/retry")
    async def retry(outbound_id: int, request: Request) -> Response:
        await _posted(request)
        relay = _relay(request)
        if not await relay.store(outbox.retry_failed, outbound_id):
            raise HTTPException(409, f"Message {outbound_id} is not failed (already retried?).")
        log.info("admin.retry", outbound_id=outbound_id)
        relay.outbox_ready.set()
        return RedirectResponse(f"/admin/failed?retried={outbound_id}", status_code=303)

    return router

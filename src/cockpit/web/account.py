"""The account page: sign in with a WhatsApp code, rotate keys, change the repository,
pause, resume or delete the account.

Keys are shown only by their last four characters. Deleting destroys the host,
erases every secret and removes the user.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from cockpit.core import signup
from cockpit.core.phone import normalize_e164
from cockpit.errors import CockpitError
from cockpit.log import get_logger
from cockpit.store import secrets, users
from cockpit.web import setup, verify
from cockpit.web.pages import Web
from cockpit.web.signup import CHECK_ERRORS, NOT_YET, read_keys, save_keys

log = get_logger(__name__)
router = APIRouter()
SIGNED_IN = {"active", "paused"}  # statuses that have an account page
SENT = "If this number has an account, a code is on its way to WhatsApp."
NO_ACCOUNT = "This number has no account yet. Sign up with an invite code."


async def _account(web: Web) -> users.UserRecord | Response:
    """The signed-in user, or where to send the browser instead."""
    uid = await web.user_id()
    me = await web.relay.store(users.find_by_id, uid) if uid is not None else None
    if me is None:
        return web.redirect("/account/login")
    if me.status not in SIGNED_IN:
        return web.redirect("/signup/review" if me.status != "provisioning" else "/signup/progress")
    return me


async def _show(web: Web, me: users.UserRecord, status: int = 200, **context: object) -> Response:
    hints = await web.relay.store(secrets.secret_hints, me.id)
    return web.page("account.html", status, user=me, hints=hints,
                    optional=signup.OPTIONAL_KEYS, **context)  # fmt: skip


@router.get("/account", summary="Account page")
async def account_page(request: Request) -> Response:
    web = Web(request)
    me = await _account(web)
    if isinstance(me, Response):
        return me
    return await _show(web, me, notice=web.session.pop("notice", None))


@router.get("/account/login", summary="Account: sign in by proving the WhatsApp number")
async def login_page(request: Request) -> Response:
    return Web(request).page("account_login.html")


@router.post("/account/login", summary="Account: start signing in")
async def login_submit(request: Request) -> Response:
    web = Web(request)
    form = await web.form()
    try:
        phone = normalize_e164(form.get("phone", ""))
        user = await web.relay.store(users.find_by_phone, phone)
        # The same limits, pages and wording whether or not the number has an account.
        await verify.start(web, phone, "login", send=user is not None and user.status in SIGNED_IN)
    except ValueError as exc:
        return web.page("account_login.html", 400, error=str(exc), phone=form.get("phone", ""))
    except verify.Refused as exc:
        return web.page("account_login.html", exc.status, error=exc.text, phone=phone)
    return web.redirect("/account/verify")


def _code_page(web: Web, phone: str, status: int = 200, **context: Any) -> Response:
    notice = SENT if verify.typed(web) else None
    return web.page("code.html", status, action="/account", notice=notice,
                    **verify.shown(web, phone), **context)  # fmt: skip


@router.get("/account/verify", summary="Account: prove the number (send or type the code)")
async def verify_page(request: Request) -> Response:
    web = Web(request)
    phone = verify.pending(web, "login")
    if phone is None:
        return web.redirect("/account/login")
    return _code_page(web, phone)


@router.get("/account/verify.json", summary="Account: whether the phone has sent the code yet")
async def verify_json(request: Request) -> Response:
    web = Web(request)
    phone = verify.pending(web, "login")
    if phone is None:
        return JSONResponse({"next": "/account/login"})
    if verify.typed(web) or await verify.proven(web, phone) is None:
        return web.finish(JSONResponse({"next": None}))
    return web.finish(JSONResponse({"next": await _signed_in(web, phone)}))


async def _signed_in(web: Web, phone: str) -> str:
    """The phone is proven: sign in its account, or say there is none (to its owner only)."""
    for key in ("phone", "purpose", "nonce"):
        web.session.pop(key, None)
    user = await web.relay.store(users.find_by_phone, phone)
    if user is None:
        web.session["notice"] = NO_ACCOUNT
        return "/signup"
    await web.sign_in(user.id)
    return "/account"


@router.post("/account/verify", summary="Account: check the sign-in code")
async def verify_submit(request: Request) -> Response:
    web = Web(request)
    form = await web.form()
    phone = verify.pending(web, "login")
    if phone is None:
        return web.redirect("/account/login")
    if not verify.typed(web):
        if await verify.proven(web, phone) is None:
            return _code_page(web, phone, 400, error=NOT_YET)
        return web.redirect(await _signed_in(web, phone))
    try:
        code = signup.clean_code(form.get("code", ""))
        result = await setup.check_code(web.relay, phone, "login", code)
    except ValueError as exc:
        return _code_page(web, phone, 400, error=str(exc))
    if result != "ok":
        status, error = CHECK_ERRORS[result]
        return _code_page(web, phone, status, error=error)
    return web.redirect(await _signed_in(web, phone))


@router.post("/account/keys", summary="Account: replace API keys")
async def rotate_keys(request: Request) -> Response:
    web = Web(request)
    form = await web.form()
    me = await _account(web)
    if isinstance(me, Response):
        return me
    try:
        given = read_keys(form, required=False)
        token = form.get("github_token", "").strip()
        if token:
            given[secrets.GITHUB_TOKEN] = signup.github_token(token)
    except ValueError as exc:
        return await _show(web, me, 400, error=str(exc))
    if not given:
        return await _show(web, me, 400, error="Type a new key to replace the saved one.")
    await save_keys(web, me.id, given)
    log.info("web.keys_rotated", user_id=me.id, names=sorted(given))
    said = "Saved."
    if me.status == "active" and web.hosts is not None:
        said = await _restart(web, me)
    return _done(web, said)


async def _restart(
    web: Web, me: users.UserRecord, said: str = "Saved. Your workspace restarted with the new keys."
) -> str:
    """Restart the user's host so that it runs with the new keys (or repository)."""
    try:
        await web.hosts.pause(me.id)
        await web.hosts.start(me.id)
    except CockpitError as exc:
        log.error("web.restart_failed", user_id=me.id, error=str(exc))
        return f"Saved, but your workspace did not restart: {exc.user_message}"
    return said


def _done(web: Web, notice: str) -> Response:
    web.session["notice"] = notice
    return web.redirect("/account")


@router.post("/account/repo", summary="Account: change the repository")
async def change_repo(request: Request) -> Response:
    web = Web(request)
    form = await web.form()
    me = await _account(web)
    if isinstance(me, Response):
        return me
    try:
        repo = signup.repository(form.get("repo", ""), web.settings.github_oauth_base_url)
    except ValueError as exc:
        return await _show(web, me, 400, error=str(exc))
    if repo == me.repo_url:
        return _done(web, f"The repository is already {repo}.")
    await web.relay.store(users.update_user, me.id, repo_url=repo)
    said = f"The repository is now {repo}."
    if me.status == "active" and web.hosts is not None:
        fresh = " Your workspace restarted with a fresh clone (the old one is kept as a bundle)."
        said = await _restart(web, me, said + fresh)
    return _done(web, said)


@router.post("/account/pause", summary="Account: pause (stop the workspace)")
async def pause(request: Request) -> Response:
    web = Web(request)
    await web.form()
    me = await _account(web)
    if isinstance(me, Response):
        return me
    await web.relay.store(users.update_user, me.id, status="paused")
    if web.hosts is not None:
        await web.hosts.pause(me.id)
    return _done(web, "Paused. Your workspace is stopped and messages are not passed on.")


@router.post("/account/resume", summary="Account: resume")
async def resume(request: Request) -> Response:
    web = Web(request)
    await web.form()
    me = await _account(web)
    if isinstance(me, Response):
        return me
    if web.hosts is not None:
        try:
            await web.hosts.start(me.id)
        except CockpitError as exc:
            return await _show(web, me, 503, error=exc.user_message)
    await web.relay.store(users.update_user, me.id, status="active")
    return _done(web, "Resumed. Send me anything on WhatsApp.")


@router.post("/account/delete", summary="Account: delete for good")
async def delete(request: Request) -> Response:
    web = Web(request)
    form = await web.form()
    me = await _account(web)
    if isinstance(me, Response):
        return me
    if form.get("confirm", "").strip().upper() != "DELETE":
        return await _show(web, me, 400, error="Type DELETE to confirm.")
    await setup.delete_account(web.relay, web.hosts, me)
    await web.sign_out()  # a fresh session for whatever comes next
    return web.page("deleted.html")


@router.post("/account/logout", summary="Account: sign out")
async def logout(request: Request) -> Response:
    web = Web(request)
    await web.form()
    await web.sign_out()  # the server forgets the session: a copied cookie is signed out too
    return web.redirect("/account/login")

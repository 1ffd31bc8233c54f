"""The signup pages: phone and invite → code → GitHub → API keys → repository → setup.

Each step is a form posted back to its own address; a valid form moves on with a
303 to the next step, an invalid one shows the page again with the reason and a
4xx status, having changed nothing. The person is registered as `pending` once
their phone is verified and becomes `active` when their host is ready.
"""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from cockpit.core import signup
from cockpit.core.phone import normalize_e164
from cockpit.relay.workers import in_thread
from cockpit.store import phone_codes, secrets, users
from cockpit.web import github_oauth, setup
from cockpit.web.pages import Web

router = APIRouter()
OPEN = {"pending", "failed"}  # statuses whose signup can still be edited
CHECK_ERRORS = {
    "wrong": (400, "That code is not right. Check the WhatsApp message and try again."),
    "expired": (400, "That code has expired. Ask for a new one."),
    "locked": (429, "Too many wrong tries. Ask for a new code."),
    "missing": (400, "There is no code waiting for this number. Ask for a new one."),
}


def _sandbox(web: Web) -> dict[str, Any]:
    """What the pages say about joining Twilio's sandbox, when the sender is one."""
    s = web.settings
    if s.twilio_api_base_url == s.public_url:
        return {"sandbox": None}  # `cockpit up`'s phone simulator: nobody needs to join
    if not signup.is_sandbox(s.twilio_whatsapp_from, s.twilio_sandbox_keyword):
        return {"sandbox": None}
    number = (s.twilio_whatsapp_from or "").removeprefix("whatsapp:")
    return {"sandbox": {"number": number, "keyword": s.twilio_sandbox_keyword}}


async def _me(web: Web) -> users.UserRecord | None:
    """The verified person of this session, if there is one."""
    uid = web.session.user_id
    return await in_thread(users.find_by_id, web.relay.db, uid) if uid is not None else None


async def _signing_up(web: Web) -> users.UserRecord | Response:
    """The person whose signup this is, or where to send the browser instead."""
    me = await _me(web)
    if me is None:
        return web.redirect("/signup")
    if me.status == "provisioning":
        return web.redirect("/signup/progress")
    if me.status not in OPEN:
        return web.redirect("/account")
    return me


@router.get("/signup", summary="Signup: phone number and invite code")
async def phone_page(request: Request) -> Response:
    web = Web(request)
    return web.page("signup_phone.html", closed=not web.settings.invite_codes, **_sandbox(web))


@router.post("/signup", summary="Signup: send a code to the phone")
async def phone_submit(request: Request) -> Response:
    web = Web(request)
    form = await web.form()
    shown = {"phone": form.get("phone", ""), "name": form.get("name", ""), **_sandbox(web)}

    def again(status: int, error: str) -> Response:
        return web.page("signup_phone.html", status, error=error, **shown)

    try:
        signup.check_invite(form.get("invite", ""), web.settings.invite_codes)
        phone = normalize_e164(form.get("phone", ""))
    except ValueError as exc:
        return again(400, str(exc))
    name = form.get("name", "").strip()[:200] or phone
    user = await in_thread(users.find_by_phone, web.relay.db, phone)
    if user is not None and user.status not in OPEN:
        return again(409, "This number already has an account. Sign in on the account page.")
    try:
        await setup.send_code(web.relay, phone, "signup")
    except phone_codes.TooSoonError as exc:
        return again(429, str(exc))
    if user is None:
        with contextlib.suppress(users.UserExistsError):  # the same person, in two tabs
            await in_thread(users.add_user, web.relay.db, phone, name, status="pending")
    web.session.update(phone=phone, uid=None)
    return web.redirect("/signup/verify")


@router.get("/signup/verify", summary="Signup: type the code")
async def verify_page(request: Request) -> Response:
    web = Web(request)
    if "phone" not in web.session:
        return web.redirect("/signup")
    return web.page("code.html", phone=web.session["phone"], action="/signup", **_sandbox(web))


@router.post("/signup/verify", summary="Signup: check the code")
async def verify_submit(request: Request) -> Response:
    web = Web(request)
    form = await web.form()
    phone = web.session.get("phone")
    if not isinstance(phone, str):
        return web.redirect("/signup")
    verdict = await _verdict(web, phone, "signup", form.get("code", ""))
    if verdict is not None:
        status, error = verdict
        return web.page("code.html", status, error=error, phone=phone, action="/signup",
                        **_sandbox(web))  # fmt: skip
    user = await in_thread(users.find_by_phone, web.relay.db, phone)
    if user is None:
        return web.redirect("/signup")
    web.session.update(uid=user.id)
    return web.redirect("/signup/github")


async def _verdict(web: Web, phone: str, purpose: str, typed: str) -> tuple[int, str] | None:
    """None when `typed` is the phone's code, else the status and reason to show."""
    try:
        code = signup.clean_code(typed)
    except ValueError as exc:
        return 400, str(exc)
    result = await setup.check_code(web.relay, phone, purpose, code)
    return None if result == "ok" else CHECK_ERRORS[result]


@router.post("/signup/resend", summary="Signup: send a new code")
async def resend(request: Request) -> Response:
    web = Web(request)
    await web.form()
    phone = web.session.get("phone")
    if not isinstance(phone, str):
        return web.redirect("/signup")
    try:
        await setup.send_code(web.relay, phone, "signup")
    except phone_codes.TooSoonError as exc:
        return web.page("code.html", 429, error=str(exc), phone=phone, action="/signup",
                        **_sandbox(web))  # fmt: skip
    return web.redirect("/signup/verify")


@router.get("/signup/github", summary="Signup: connect GitHub")
async def github_page(request: Request) -> Response:
    web = Web(request)
    me = await _signing_up(web)
    if isinstance(me, Response):
        return me
    hints = await in_thread(secrets.secret_hints, web.relay.db, me.id)
    return web.page("signup_github.html", oauth=github_oauth.configured(web.settings),
                    saved=hints.get(secrets.GITHUB_TOKEN))  # fmt: skip


@router.post("/signup/github", summary="Signup: save a GitHub token")
async def github_submit(request: Request) -> Response:
    web = Web(request)
    form = await web.form()
    me = await _signing_up(web)
    if isinstance(me, Response):
        return me
    try:
        token = signup.github_token(form.get("token", ""))
    except ValueError as exc:
        return web.page("signup_github.html", 400, error=str(exc),
                        oauth=github_oauth.configured(web.settings))  # fmt: skip
    await _put(web, me.id, secrets.GITHUB_TOKEN, token)
    return web.redirect("/signup/keys")


async def _put(web: Web, user_id: int, name: str, value: str) -> None:
    assert web.settings.secret_key is not None
    await in_thread(
        secrets.put_secret, web.relay.db, user_id, name, value, key=web.settings.secret_key
    )


@router.get("/signup/github/start", summary="Signup: go to GitHub to authorize")
async def github_start(request: Request) -> Response:
    web = Web(request)
    me = await _signing_up(web)
    if isinstance(me, Response):
        return me
    if not github_oauth.configured(web.settings):
        return web.redirect("/signup/github")
    return web.redirect(github_oauth.authorize_url(web.settings, web.secret, web.session.csrf))


@router.get("/signup/github/callback", summary="Signup: GitHub sends the person back here")
async def github_callback(request: Request, code: str = "", state: str = "") -> Response:
    web = Web(request)
    me = await _signing_up(web)
    if isinstance(me, Response):
        return me
    oauth = github_oauth.configured(web.settings)
    if not github_oauth.state_ok(web.secret, web.session.csrf, state) or not code:
        return web.page("signup_github.html", 400, oauth=oauth,
                        error="GitHub's answer did not match this signup. Try again.")  # fmt: skip
    try:
        token = await github_oauth.exchange(web.settings, code)
    except github_oauth.GitHubOAuthError as exc:
        return web.page("signup_github.html", 502, oauth=oauth, error=str(exc))
    await _put(web, me.id, secrets.GITHUB_TOKEN, token)
    return web.redirect("/signup/keys")


@router.get("/signup/keys", summary="Signup: API keys")
async def keys_page(request: Request) -> Response:
    web = Web(request)
    me = await _signing_up(web)
    if isinstance(me, Response):
        return me
    hints = await in_thread(secrets.secret_hints, web.relay.db, me.id)
    return web.page("signup_keys.html", hints=hints, optional=signup.OPTIONAL_KEYS)


@router.post("/signup/keys", summary="Signup: save API keys")
async def keys_submit(request: Request) -> Response:
    web = Web(request)
    form = await web.form()
    me = await _signing_up(web)
    if isinstance(me, Response):
        return me
    hints = await in_thread(secrets.secret_hints, web.relay.db, me.id)
    try:
        given = read_keys(form, required=secrets.ANTHROPIC_API_KEY not in hints)
    except ValueError as exc:
        return web.page("signup_keys.html", 400, error=str(exc), hints=hints,
                        optional=signup.OPTIONAL_KEYS)  # fmt: skip
    for name, value in given.items():
        await _put(web, me.id, name, value)
    return web.redirect("/signup/repo")


def read_keys(form: dict[str, str], *, required: bool) -> dict[str, str]:
    """The well-formed keys typed in `form` by secret name; ValueError names a bad one."""
    keys: dict[str, str] = {}
    typed = form.get(secrets.ANTHROPIC_API_KEY, "").strip()
    if typed or required:
        keys[secrets.ANTHROPIC_API_KEY] = signup.anthropic_key(typed)
    for option in signup.OPTIONAL_KEYS:
        value = signup.optional_key(option, form.get(option.name, ""))
        if value is not None:
            keys[option.name] = value
    return keys


@router.get("/signup/repo", summary="Signup: the repository to work on")
async def repo_page(request: Request) -> Response:
    web = Web(request)
    me = await _signing_up(web)
    if isinstance(me, Response):
        return me
    return web.page("signup_repo.html", repo=me.repo_url or "")


@router.post("/signup/repo", summary="Signup: save the repository")
async def repo_submit(request: Request) -> Response:
    web = Web(request)
    form = await web.form()
    me = await _signing_up(web)
    if isinstance(me, Response):
        return me
    try:
        repo = signup.repository(form.get("repo", ""), web.settings.github_oauth_base_url)
    except ValueError as exc:
        return web.page("signup_repo.html", 400, error=str(exc), repo=form.get("repo", ""))
    await in_thread(users.update_user, web.relay.db, me.id, repo_url=repo)
    return web.redirect("/signup/review")


@router.get("/signup/review", summary="Signup: check and submit")
async def review_page(request: Request) -> Response:
    web = Web(request)
    me = await _signing_up(web)
    if isinstance(me, Response):
        return me
    hints = await in_thread(secrets.secret_hints, web.relay.db, me.id)
    return web.page("signup_review.html", user=me, hints=hints, missing=_missing(me, hints))


def _missing(me: users.UserRecord, hints: dict[str, str]) -> list[tuple[str, str]]:
    """The steps still to do before submitting, with their pages."""
    todo = []
    if secrets.GITHUB_TOKEN not in hints:
        todo.append(("Connect GitHub", "/signup/github"))
    if secrets.ANTHROPIC_API_KEY not in hints:
        todo.append(("Add your Anthropic API key", "/signup/keys"))
    if not me.repo_url:
        todo.append(("Choose the repository", "/signup/repo"))
    return todo


@router.post("/signup/submit", summary="Signup: set up the workspace")
async def submit(request: Request) -> Response:
    web = Web(request)
    await web.form()
    me = await _signing_up(web)
    if isinstance(me, Response):
        return me
    hints = await in_thread(secrets.secret_hints, web.relay.db, me.id)
    missing = _missing(me, hints)
    if missing:
        return web.page("signup_review.html", 400, user=me, hints=hints, missing=missing,
                        error="Some steps are not done yet.")  # fmt: skip
    await setup.begin_set_up(web.relay, web.jobs, web.hosts, me)
    return web.redirect("/signup/progress")


@router.get("/signup/progress", summary="Signup: live progress of the setup")
async def progress_page(request: Request) -> Response:
    web = Web(request)
    me = await _me(web)
    if me is None:
        return web.redirect("/signup")
    return web.page("signup_progress.html", user=me, steps=setup.STEPS)


@router.get("/signup/progress.json", summary="Signup: the setup's state, for the progress page")
async def progress_json(request: Request) -> Response:
    web = Web(request)
    me = await _me(web)
    if me is None:
        return JSONResponse({"detail": "not signed in"}, status_code=401)
    return JSONResponse({"status": me.status, "step": me.setup_step})

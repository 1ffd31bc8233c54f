"""The signup pages: phone and invite → code → GitHub → API keys → repository → setup.

Each step is a form posted back to its own address; a valid form moves on with a
303 to the next step, an invalid one shows the page again with the reason and a
4xx status, having changed nothing. The person is registered as `pending` only once
their phone is proven (web/verify.py) and becomes `active` when their host is ready.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from cockpit.core import signup
from cockpit.core.phone import normalize_e164
from cockpit.relay.github import oauth as github_oauth
from cockpit.store import secrets, users
from cockpit.web import setup, verify
from cockpit.web.pages import Web

router = APIRouter()
OPEN = {"pending", "failed"}  # statuses whose signup can still be edited
CHECK_ERRORS = {
    "wrong": (400, "That code is not right. Check the WhatsApp message and try again."),
    "expired": (400, "That code has expired. Ask for a new one."),
    "locked": (429, "Too many wrong tries. Ask for a new code."),
    "missing": (400, "There is no code waiting for this number. Ask for a new one."),
}
NOT_YET = "Your WhatsApp message with the code has not arrived yet. Send it, then try again."


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
    uid = await web.user_id()
    return await web.relay.store(users.find_by_id, uid) if uid is not None else None


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
    return web.page("signup_phone.html", closed=not web.settings.invite_codes,
                    notice=web.session.pop("notice", None), **_sandbox(web))  # fmt: skip


@router.post("/signup", summary="Signup: start proving the phone number")
async def phone_submit(request: Request) -> Response:
    web = Web(request)
    form = await web.form()
    shown = {"phone": form.get("phone", ""), "name": form.get("name", ""), **_sandbox(web)}
    try:
        invite = form.get("invite", "")
        signup.check_invite(invite, web.settings.invite_codes)
        phone = normalize_e164(form.get("phone", ""))
        await verify.start(web, phone, "signup", invite=invite.strip())
    except ValueError as exc:
        return web.page("signup_phone.html", 400, error=str(exc), **shown)
    except verify.Refused as exc:
        return web.page("signup_phone.html", exc.status, error=exc.text, **shown)
    # Nobody is registered yet, and nothing says whether the number has an account:
    # that is decided once the phone is proven.
    web.session["name"] = form.get("name", "").strip()[:200] or phone
    return web.redirect("/signup/verify")


def _code_page(web: Web, phone: str, status: int = 200, **context: Any) -> Response:
    return web.page("code.html", status, action="/signup", **verify.shown(web, phone),
                    **_sandbox(web), **context)  # fmt: skip


@router.get("/signup/verify", summary="Signup: prove the number (send or type the code)")
async def verify_page(request: Request) -> Response:
    web = Web(request)
    phone = verify.pending(web, "signup")
    if phone is None:
        return web.redirect("/signup")
    return _code_page(web, phone)


@router.get("/signup/verify.json", summary="Signup: whether the phone has sent the code yet")
async def verify_json(request: Request) -> Response:
    web = Web(request)
    phone = verify.pending(web, "signup")
    if phone is None:
        return JSONResponse({"next": "/signup"})
    proof = None if verify.typed(web) else await verify.proven(web, phone)
    if proof is None:
        return web.finish(JSONResponse({"next": None}))
    return web.finish(JSONResponse({"next": await _proven(web, phone, proof.verified_at)}))


async def _proven(web: Web, phone: str, wrote_at: datetime | None = None) -> str:
    """The phone is proven: register the person (only now), sign in, say where next."""
    user = await web.relay.store(users.find_by_phone, phone)
    if user is None:
        name = str(web.session.get("name") or phone)
        with contextlib.suppress(users.UserExistsError):  # the same person, in two tabs
            await web.relay.store(users.add_user, phone, name, status="pending",
                            last_inbound_at=wrote_at)  # fmt: skip
        user = await web.relay.store(users.find_by_phone, phone)
    assert user is not None
    for key in ("phone", "purpose", "nonce", "name"):
        web.session.pop(key, None)
    await web.sign_in(user.id)
    if user.status == "provisioning":
        return "/signup/progress"
    return "/signup/github" if user.status in OPEN else "/account"


@router.post("/signup/verify", summary="Signup: check the code")
async def verify_submit(request: Request) -> Response:
    web = Web(request)
    form = await web.form()
    phone = verify.pending(web, "signup")
    if phone is None:
        return web.redirect("/signup")
    if not verify.typed(web):
        proof = await verify.proven(web, phone)
        if proof is None:
            return _code_page(web, phone, 400, error=NOT_YET)
        return web.redirect(await _proven(web, phone, proof.verified_at))
    verdict = await _verdict(web, phone, "signup", form.get("code", ""))
    if verdict is not None:
        status, error = verdict
        return _code_page(web, phone, status, error=error)
    return web.redirect(await _proven(web, phone))


async def _verdict(web: Web, phone: str, purpose: str, typed: str) -> tuple[int, str] | None:
    """None when `typed` is the phone's code, else the status and reason to show."""
    try:
        code = signup.clean_code(typed)
    except ValueError as exc:
        return 400, str(exc)
    result = await setup.check_code(web.relay, phone, purpose, code)
    return None if result == "ok" else CHECK_ERRORS[result]


@router.post("/signup/resend", summary="Signup: a new code")
async def resend(request: Request) -> Response:
    web = Web(request)
    await web.form()
    phone = verify.pending(web, "signup")
    if phone is None:
        return web.redirect("/signup")
    try:
        await verify.start(web, phone, "signup", again=True)
    except verify.Refused as exc:
        return _code_page(web, phone, exc.status, error=exc.text)
    return web.redirect("/signup/verify")


@router.get("/signup/github", summary="Signup: connect GitHub")
async def github_page(request: Request) -> Response:
    web = Web(request)
    me = await _signing_up(web)
    if isinstance(me, Response):
        return me
    hints = await web.relay.store(secrets.secret_hints, me.id)
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
    await web.relay.store(secrets.put_secret, user_id, name, value, key=web.settings.secret_keyring)


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
    hints = await web.relay.store(secrets.secret_hints, me.id)
    return web.page("signup_keys.html", hints=hints, optional=signup.OPTIONAL_KEYS)


@router.post("/signup/keys", summary="Signup: save API keys")
async def keys_submit(request: Request) -> Response:
    web = Web(request)
    form = await web.form()
    me = await _signing_up(web)
    if isinstance(me, Response):
        return me
    hints = await web.relay.store(secrets.secret_hints, me.id)
    try:
        given = read_keys(form, required=not _has_claude(hints))
    except ValueError as exc:
        return web.page("signup_keys.html", 400, error=str(exc), hints=hints,
                        optional=signup.OPTIONAL_KEYS)  # fmt: skip
    await save_keys(web, me.id, given)
    return web.redirect("/signup/repo")


def _has_claude(hints: dict[str, str]) -> bool:
    return any(name in hints for name in secrets.CLAUDE_CREDENTIALS)


async def save_keys(web: Web, user_id: int, given: dict[str, str]) -> None:
    """Store the keys; a new Claude credential replaces the saved one of the other kind
    (Claude Code would prefer an API key over a token, so only one is kept)."""
    for name, value in given.items():
        await _put(web, user_id, name, value)
        if name in secrets.CLAUDE_CREDENTIALS:
            for other in set(secrets.CLAUDE_CREDENTIALS) - {name}:
                await web.relay.store(secrets.delete_secret, user_id, other)


def read_keys(form: dict[str, str], *, required: bool) -> dict[str, str]:
    """The well-formed keys typed in `form` by secret name; ValueError names a bad one.

    The Claude field takes an API key or a subscription token; whichever it is is stored
    under its own name (`save_keys` then forgets the other kind)."""
    keys: dict[str, str] = {}
    typed = form.get(secrets.ANTHROPIC_API_KEY, "").strip()
    if typed or required:
        kind, credential = signup.claude_credential(typed)
        name = secrets.CLAUDE_OAUTH_TOKEN if kind == "oauth_token" else secrets.ANTHROPIC_API_KEY
        keys[name] = credential
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
    await web.relay.store(users.update_user, me.id, repo_url=repo)
    return web.redirect("/signup/review")


@router.get("/signup/review", summary="Signup: check and submit")
async def review_page(request: Request) -> Response:
    web = Web(request)
    me = await _signing_up(web)
    if isinstance(me, Response):
        return me
    hints = await web.relay.store(secrets.secret_hints, me.id)
    return web.page("signup_review.html", user=me, hints=hints, missing=_missing(me, hints))


def _missing(me: users.UserRecord, hints: dict[str, str]) -> list[tuple[str, str]]:
    """The steps still to do before submitting, with their pages."""
    todo = []
    if secrets.GITHUB_TOKEN not in hints:
        todo.append(("Connect GitHub", "/signup/github"))
    if not _has_claude(hints):
        todo.append(("Add your Anthropic API key or Claude token", "/signup/keys"))
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
    hints = await web.relay.store(secrets.secret_hints, me.id)
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
    return web.finish(JSONResponse({"status": me.status, "step": me.setup_step}))

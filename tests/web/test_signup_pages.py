"""The signup pages in-process: each step's checks, its refusals, and what it stores."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import text, update

from cockpit.core.clock import utcnow
from cockpit.core.signup import WELCOME
from cockpit.provision.hostenv import host_env
from cockpit.provision.local import LocalProvisioner
from cockpit.relay.hosts import HostManager
from cockpit.store import secrets
from cockpit.store.models import PhoneCode
from tests.web.conftest import ANTHROPIC, GITHUB, INVITE, PHONE, Site


async def test_a_wrong_invite_code_sends_nothing_and_registers_nobody(site: Site) -> None:
    """A bad invite gets a 400 that says so; no code is sent and no user is made."""
    response = await site.form("/signup", "/signup", invite="guess", phone=PHONE)
    assert response.status_code == 400
    assert "That invite code is not valid" in response.text
    assert site.messages() == [] and site.user() is None


async def test_non_ascii_invite_code_and_csrf_token_are_refused_not_crashed(site: Site) -> None:
    """Non-ASCII in the invite or the CSRF field gets a 400 or 403, never a server error."""
    invite = await site.form("/signup", "/signup", invite="bêta-ünïcode", phone=PHONE)
    assert invite.status_code == 400 and "not valid" in invite.text
    forged = await site.client.post("/signup", data={"csrf": "é" * 32, "invite": INVITE})
    assert forged.status_code == 403 and site.messages() == []


async def test_a_malformed_phone_number_is_refused(site: Site) -> None:
    """A number that is not E.164 gets a 400 naming the expected form."""
    response = await site.form("/signup", "/signup", invite=INVITE, phone="12 34")
    assert response.status_code == 400
    assert "E.164" in response.text and site.messages() == []


async def test_a_form_without_the_csrf_token_is_refused(site: Site) -> None:
    """A post from elsewhere (no CSRF token) gets a 403 and changes nothing."""
    response = await site.client.post("/signup", data={"invite": INVITE, "phone": PHONE})
    assert response.status_code == 403
    assert site.messages() == [] and site.user() is None


async def test_the_code_is_sent_in_the_template_and_stored_only_hashed(typed_site: Site) -> None:
    """With a verification template the phone gets a 6-digit code in it; the database
    keeps a digest, not the code, and nobody is registered before the code is typed."""
    site = typed_site
    await site.form("/signup", "/signup", invite=INVITE, phone=PHONE, name="Grace")
    code = site.last_code()
    with site.relay.db.engine.connect() as conn:
        (digest,) = conn.execute(text("SELECT digest FROM phone_codes")).one()
    assert code not in digest and len(digest) == 64
    assert site.user() is None  # registered only once the number is proven
    await site.prove("signup")
    user = site.user()
    assert user is not None and user.status == "pending"  # not yet allowed to message


async def test_wrong_codes_lock_the_code_after_five_tries(typed_site: Site) -> None:
    """Four wrong codes say so; the fifth locks it, and then even the right one fails."""
    site = typed_site
    await site.form("/signup", "/signup", invite=INVITE, phone=PHONE)
    right = site.last_code()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(4):
        response = await site.form("/signup/verify", "/signup/verify", code=wrong)
        assert response.status_code == 400 and "That code is not right" in response.text
    locked = await site.form("/signup/verify", "/signup/verify", code=wrong)
    assert locked.status_code == 429 and "Too many wrong tries" in locked.text
    late = await site.form("/signup/verify", "/signup/verify", code=right)
    assert late.status_code == 429


async def test_a_new_code_does_not_reset_the_wrong_tries(typed_site: Site) -> None:
    """Wrong tries count per phone across codes: four, a new code, one more locks the
    number, and no new code can be asked for until the lock ends."""
    site = typed_site
    await site.form("/signup", "/signup", invite=INVITE, phone=PHONE)
    for _ in range(4):
        await site.form("/signup/verify", "/signup/verify", code=_wrong(site.last_code()))
    _age_code(site, 31)
    assert (await site.form("/signup/verify", "/signup/resend")).status_code == 303
    locked = await site.form("/signup/verify", "/signup/verify", code=_wrong(site.last_code()))
    assert locked.status_code == 429
    right = await site.form("/signup/verify", "/signup/verify", code=site.last_code())
    assert right.status_code == 429  # locked, even for the right code
    _age_code(site, 3600)
    again = await site.form("/signup/verify", "/signup/resend")
    assert again.status_code == 429 and "Too many wrong codes" in again.text


async def test_each_new_code_waits_longer(typed_site: Site) -> None:
    """The first resend may come after 30 s, the next only after 60 s."""
    site = typed_site
    await site.form("/signup", "/signup", invite=INVITE, phone=PHONE)
    _age_code(site, 31)
    assert (await site.form("/signup/verify", "/signup/resend")).status_code == 303
    _age_code(site, 31)
    too_soon = await site.form("/signup/verify", "/signup/resend")
    assert too_soon.status_code == 429 and "Wait" in too_soon.text
    _age_code(site, 61)
    assert (await site.form("/signup/verify", "/signup/resend")).status_code == 303


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _age_code(site: Site, seconds: float) -> None:
    """Pretend the phone's latest code was sent `seconds` ago."""
    with site.relay.db.transaction() as s:
        s.execute(update(PhoneCode).values(sent_at=utcnow() - timedelta(seconds=seconds)))


async def test_an_expired_code_is_refused(typed_site: Site) -> None:
    """A code typed after its 10 minutes gets a 400 asking for a new one."""
    site = typed_site
    await site.form("/signup", "/signup", invite=INVITE, phone=PHONE)
    with site.relay.db.transaction() as s:
        s.execute(update(PhoneCode).values(expires_at=utcnow()))
    response = await site.form("/signup/verify", "/signup/verify", code=site.last_code())
    assert response.status_code == 400 and "expired" in response.text


async def test_asking_again_at_once_is_refused(typed_site: Site) -> None:
    """A second code within 30 s gets a 429 and no second message."""
    site = typed_site
    await site.form("/signup", "/signup", invite=INVITE, phone=PHONE)
    again = await site.form("/signup/verify", "/signup/resend")
    assert again.status_code == 429 and "Wait" in again.text
    assert len(site.messages()) == 1


async def test_sandbox_senders_get_join_instructions(typed_site: Site) -> None:
    """With TWILIO_SANDBOX_KEYWORD set, the page says which join message to send first."""
    site = typed_site
    site.relay.settings.twilio_sandbox_keyword = "silver-fox"
    page = await site.client.get("/signup")
    assert "Send join silver-fox to +15550009999 on WhatsApp." in _text(page.text)
    await site.form("/signup", "/signup", invite=INVITE, phone=PHONE)
    code_page = await site.client.get("/signup/verify")
    assert "No code?" in code_page.text and "then ask for a new code" in code_page.text


async def test_the_local_simulator_needs_no_sandbox_join(site: Site) -> None:
    """With `cockpit up`'s simulator (Twilio API = the relay itself) no join step is shown."""
    settings = site.relay.settings
    settings.twilio_whatsapp_from = "whatsapp:+14155238886"
    assert 'id="sandbox"' in (await site.client.get("/signup")).text
    settings.twilio_api_base_url = settings.public_url or ""
    assert 'id="sandbox"' not in (await site.client.get("/signup")).text


def _text(html: str) -> str:
    """The words of a page, without tags and with single spaces."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace(" .", ".")


async def test_badly_formed_keys_are_refused_and_not_stored(site: Site) -> None:
    """A GitHub token or Anthropic key in the wrong format gets a 400 and is not kept."""
    await site.verified()
    token = await site.form("/signup/github", "/signup/github", token="hunter2")
    assert token.status_code == 400 and "github_pat_" in token.text
    key = await site.form("/signup/keys", "/signup/keys", anthropic_api_key="sk-openai-123")
    assert key.status_code == 400 and "sk-ant-" in key.text
    user = site.user()
    assert user is not None and secrets.secret_hints(site.relay.db, user.id) == {}


async def test_keys_are_shown_only_by_their_last_four_characters(site: Site) -> None:
    """After entry, pages show …last4 of each key and never the key itself."""
    await site.verified()
    await site.form("/signup/github", "/signup/github", token=GITHUB)
    await site.form("/signup/keys", "/signup/keys", anthropic_api_key=ANTHROPIC)
    review = await site.client.get("/signup/review")
    assert "…Hk7Z" in review.text and "…Qp4R" in review.text
    assert ANTHROPIC not in review.text and GITHUB not in review.text


async def test_a_repository_must_be_owner_name_or_https(site: Site) -> None:
    """`file:///etc` is refused with a 400; `owner/name` becomes a GitHub https URL."""
    await site.verified()
    bad = await site.form("/signup/repo", "/signup/repo", repo="file:///etc")
    assert bad.status_code == 400 and "owner/name" in bad.text
    good = await site.form("/signup/repo", "/signup/repo", repo="grace/compiler.git")
    assert good.headers["location"] == "/signup/review"
    user = site.user()
    assert user is not None and user.repo_url == "https://github.com/grace/compiler"


async def test_submitting_before_every_step_is_done_is_refused(site: Site) -> None:
    """Submit without the keys gets a 400 listing what is missing; nothing is set up."""
    await site.verified()
    response = await site.form("/signup/repo", "/signup/submit")  # the review hides the button
    assert response.status_code == 400 and "Add your Anthropic API key" in response.text
    user = site.user()
    assert user is not None and user.status == "pending"


async def test_submitting_activates_the_user_and_says_welcome(site: Site) -> None:
    """With every step done, setup activates the user and queues the welcome message."""
    await site.verified()
    await site.form("/signup/github", "/signup/github", token=GITHUB)
    await site.form("/signup/keys", "/signup/keys", anthropic_api_key=ANTHROPIC)
    await site.form("/signup/repo", "/signup/repo", repo="grace/compiler")
    submitted = await site.form("/signup/review", "/signup/submit")
    assert submitted.headers["location"] == "/signup/progress"
    for _ in range(100):
        state = (await site.client.get("/signup/progress.json")).json()
        if state["step"] == "Done":
            break
        await asyncio.sleep(0.02)
    assert state == {"status": "active", "step": "Done"}
    assert site.messages()[-1] == WELCOME
    assert (await site.client.get("/signup/github")).headers["location"] == "/account"


@pytest.mark.parametrize("path", ["/signup/github", "/signup/keys", "/signup/review"])
async def test_later_steps_need_a_verified_phone(site: Site, path: str) -> None:
    """Without a verified phone, every later step sends the browser back to the start."""
    response = await site.client.get(path)
    assert response.status_code == 303 and response.headers["location"] == "/signup"


OAUTH_TOKEN = "sk-ant-oat01-" + "Pl4n" * 20 + "-Mx3V"


async def test_a_subscription_token_is_taken_instead_of_an_api_key(site: Site) -> None:
    """The Claude field takes a `claude setup-token` token: stored encrypted under its own
    name, shown by its last four, enough to submit, and its host gets it as
    CLAUDE_CODE_OAUTH_TOKEN without the operator's API key."""
    await site.verified()
    await site.form("/signup/github", "/signup/github", token=GITHUB)
    saved = await site.form("/signup/keys", "/signup/keys", anthropic_api_key=OAUTH_TOKEN)
    assert saved.headers["location"] == "/signup/repo"
    await site.form("/signup/repo", "/signup/repo", repo="grace/compiler")
    review = await site.client.get("/signup/review")
    assert "subscription token …Mx3V" in review.text and OAUTH_TOKEN not in review.text
    assert "Add your Anthropic" not in review.text
    user = site.user()
    assert user is not None
    site.relay.settings.anthropic_api_key = SecretStr("sk-ant-api03-operator-" + "x" * 20)
    spec = HostManager(site.relay, LocalProvisioner(site.relay.settings))._spec(user)
    env = host_env(site.relay.settings, spec, "/data", "/workspace")
    assert env["CLAUDE_CODE_OAUTH_TOKEN"] == OAUTH_TOKEN and "ANTHROPIC_API_KEY" not in env


async def test_a_new_api_key_replaces_a_saved_token(site: Site) -> None:
    """Saving an API key after a token keeps only the key (Claude Code would prefer it)."""
    await site.verified()
    await site.form("/signup/keys", "/signup/keys", anthropic_api_key=OAUTH_TOKEN)
    await site.form("/signup/keys", "/signup/keys", anthropic_api_key=ANTHROPIC)
    user = site.user()
    assert user is not None
    assert set(secrets.secret_hints(site.relay.db, user.id)) == {"anthropic_api_key"}


async def test_a_truncated_token_is_refused(site: Site) -> None:
    """Half a token gets a 400 that says to copy the whole `claude setup-token` line."""
    await site.verified()
    bad = await site.form("/signup/keys", "/signup/keys", anthropic_api_key="sk-ant-oat01-abc")
    assert bad.status_code == 400 and "claude setup-token" in bad.text

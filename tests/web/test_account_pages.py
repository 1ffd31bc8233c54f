"""The account page in-process: sign-in by WhatsApp code, keys, repository, pause, delete."""

from __future__ import annotations

from sqlalchemy import text

from cockpit.core.messages import Inbound
from cockpit.core.signup import GOODBYE
from cockpit.relay import ingress
from cockpit.store import secrets, users
from tests.web.conftest import ANTHROPIC, GITHUB, PHONE, Site

NEW_KEY = "sk-ant-api03-" + "Zz8y" * 20 + "-Nw4K"


async def signed_in(site: Site) -> users.UserRecord:
    """An active user with both keys, signed in on the account page by a WhatsApp code."""
    user = users.add_user(site.relay.db, PHONE, "Grace")
    key = site.relay.settings.secret_key
    assert key is not None
    secrets.put_secret(site.relay.db, user.id, "anthropic_api_key", ANTHROPIC, key=key)
    secrets.put_secret(site.relay.db, user.id, "github_token", GITHUB, key=key)
    sent = await site.form("/account/login", "/account/login", phone=PHONE)
    assert sent.headers["location"] == "/account/verify"
    verified = await site.prove("account")
    assert verified.headers["location"] == "/account"
    return user


async def test_an_unknown_number_gets_the_same_answer_and_no_message(typed_site: Site) -> None:
    """Signing in with a number that has no account reveals nothing and sends nothing."""
    site = typed_site
    response = await site.form("/account/login", "/account/login", phone="+15550000077")
    assert response.status_code == 303 and response.headers["location"] == "/account/verify"
    page = await site.client.get("/account/verify")
    assert "If this number has an account" in page.text
    assert site.messages("+15550000077") == []


async def test_the_account_page_needs_a_sign_in(site: Site) -> None:
    """Without a session the account page sends the browser to the sign-in form."""
    response = await site.client.get("/account")
    assert response.headers["location"] == "/account/login"


async def test_the_account_page_shows_only_the_last_four_characters(site: Site) -> None:
    """Signed in, the page shows …Hk7Z and …Qp4R, and neither key itself."""
    await signed_in(site)
    page = await site.client.get("/account")
    assert "…Hk7Z" in page.text and "…Qp4R" in page.text
    assert ANTHROPIC not in page.text and GITHUB not in page.text


async def test_replacing_the_anthropic_key_keeps_only_the_new_one(site: Site) -> None:
    """A new key replaces the old: the page shows its last four, the store returns it."""
    user = await signed_in(site)
    bad = await site.form("/account", "/account/keys", anthropic_api_key="sk-nope")
    assert bad.status_code == 400 and "sk-ant-" in bad.text
    saved = await site.form("/account", "/account/keys", anthropic_api_key=NEW_KEY)
    assert saved.headers["location"] == "/account"
    page = await site.client.get("/account")
    assert "…Nw4K" in page.text and "Saved." in page.text
    key = site.relay.settings.secret_key
    assert key is not None
    assert secrets.get_secret(site.relay.db, user.id, "anthropic_api_key", key=key) == NEW_KEY


async def test_changing_the_repository(site: Site) -> None:
    """A new repository is validated and shown; a bad one gets a 400 and is not saved."""
    user = await signed_in(site)
    bad = await site.form("/account", "/account/repo", repo="http://insecure.example/x/y")
    assert bad.status_code == 400
    await site.form("/account", "/account/repo", repo="https://gitlab.com/grace/compiler.git")
    found = users.find_by_id(site.relay.db, user.id)
    assert found is not None and found.repo_url == "https://gitlab.com/grace/compiler"


async def test_a_paused_account_is_refused_on_whatsapp_until_resumed(site: Site) -> None:
    """While paused, a message is refused with a note saying so; after resuming it is taken."""
    await signed_in(site)

    def accept(sid: str) -> str:
        message = Inbound(sid=sid, from_number=PHONE, to="whatsapp:+15550009999", body="hi")
        return ingress.accept(site.relay, message)

    await site.form("/account", "/account/pause")
    assert "Paused" in (await site.client.get("/account")).text
    assert accept("SMpaused") == "refused"
    assert site.messages()[-1] == (
        "Your cockpit account is paused, so this message was not passed on. "
        "Resume it on your account page: http://relay.test/account"
    )
    await site.form("/account", "/account/resume")
    assert accept("SMresumed") == "accepted"


async def test_deleting_needs_the_word_and_then_erases_everything(site: Site) -> None:
    """Without DELETE nothing happens; with it the user, their secrets and codes are gone."""
    await signed_in(site)
    refused = await site.form("/account", "/account/delete", confirm="yes")
    assert refused.status_code == 400 and site.user() is not None
    done = await site.form("/account", "/account/delete", confirm="DELETE")
    assert "Your account is deleted" in done.text
    assert site.user() is None and site.messages()[-1] == GOODBYE
    with site.relay.db.engine.connect() as conn:
        for table in ("user_secrets", "user_data_keys", "phone_codes", "users"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0  # noqa: S608
    assert (await site.client.get("/account")).headers["location"] == "/account/login"

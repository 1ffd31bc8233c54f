"""Proving a number: click-to-chat codes, typed codes' limits, sign-in and sign-out."""

from __future__ import annotations

import hashlib
import re
import stat
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select, text, update

from cockpit.core.clock import utcnow
from cockpit.core.messages import OutboundDraft
from cockpit.core.signup import PROVEN
from cockpit.store import outbox, users
from cockpit.store.db import Database
from cockpit.store.models import InboundMessage, OutboundMessage, PhoneProof, ThrottleHit
from tests.rawdb import database_bytes
from tests.web.conftest import INVITE, PHONE, Site

OTHER = "+15550001122"


async def test_the_code_page_shows_a_wa_me_link_and_a_qr_code(site: Site) -> None:
    """Click-to-chat: the page shows the code, a wa.me link to the sender with the code as
    its text, and an SVG QR code; the code itself is stored nowhere, only its digest."""
    await site.form("/signup", "/signup", invite=INVITE, phone=PHONE, name="Grace")
    page = (await site.client.get("/signup/verify")).text
    code = await site.shown_code("/signup/verify")
    assert f'href="https://wa.me/15550009999?text={code}"' in page
    assert re.search(r'id="qr"[^>]*><svg', page)
    assert code.encode() not in database_bytes(site.relay.db)
    assert site.messages() == []  # nothing is sent to the phone: it writes to us


async def test_the_phones_own_message_proves_it_and_only_then_registers_it(site: Site) -> None:
    """Before the message nobody is registered and the page waits; the phone's WhatsApp
    message with the code is answered (not passed on), the page moves on, and the new
    pending user's 24-hour window is open from that message."""
    await site.form("/signup", "/signup", invite=INVITE, phone=PHONE, name="Grace")
    code = await site.shown_code("/signup/verify")
    assert (await site.client.get("/signup/verify.json")).json() == {"next": None}
    assert site.user() is None
    assert site.send(f" {code} ") == "proof"
    assert site.messages() == [PROVEN["signup"]]
    assert (await site.client.get("/signup/verify.json")).json() == {"next": "/signup/github"}
    user = site.user()
    assert user is not None and user.status == "pending" and user.name == "Grace"
    with site.relay.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 0
        opened = s.scalar(text("SELECT last_inbound_at FROM users"))
    assert opened is not None
    assert (await site.client.get("/signup/github")).status_code == 200


async def test_the_code_from_another_number_proves_nothing(site: Site) -> None:
    """The page's code sent from some other WhatsApp number is refused like any stranger."""
    await site.form("/signup", "/signup", invite=INVITE, phone=PHONE)
    code = await site.shown_code("/signup/verify")
    assert site.send(code, phone=OTHER) == "refused"
    assert (await site.client.get("/signup/verify.json")).json() == {"next": None}
    pressed = await site.form("/signup/verify", "/signup/verify")
    assert pressed.status_code == 400 and "has not arrived yet" in pressed.text
    assert site.user() is None


async def test_a_code_works_once_and_a_retried_webhook_adds_nothing(site: Site) -> None:
    """Twilio's retry of the proving message queues no second answer; once the page took
    the proof, the same code from the phone proves nothing any more."""
    await site.form("/signup", "/signup", invite=INVITE, phone=PHONE)
    code = await site.shown_code("/signup/verify")
    assert site.send(code, sid="SM" + "7" * 32) == "proof"
    assert site.send(code, sid="SM" + "7" * 32) == "proof"
    assert site.messages() == [PROVEN["signup"]]
    assert (await site.client.get("/signup/verify.json")).json()["next"] == "/signup/github"
    assert site.send(code) == "refused"  # a pending user is refused like a stranger


async def test_an_expired_click_to_chat_code_proves_nothing(site: Site) -> None:
    """A code sent after its 10 minutes is not taken as a proof."""
    await site.form("/signup", "/signup", invite=INVITE, phone=PHONE)
    code = await site.shown_code("/signup/verify")
    with site.relay.db.transaction() as s:
        s.execute(update(PhoneProof).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert site.send(code) == "refused"
    assert site.user() is None


async def test_signing_in_by_message_opens_the_window_and_is_not_a_turn(site: Site) -> None:
    """An active user who sends the sign-in page's code is signed in; the message is not
    stored for Claude, and it releases what was held outside the 24-hour window."""
    user = users.add_user(site.relay.db, PHONE, "Grace")
    waiting = OutboundDraft(key="held-1", to=PHONE, body="Tests passed.", user_id=user.id)
    outbox.enqueue_now(site.relay.db, [waiting])
    with site.relay.db.transaction() as s:
        s.execute(update(OutboundMessage).values(status="held"))
    await site.form("/account/login", "/account/login", phone=PHONE)
    code = await site.shown_code("/account/verify")
    assert site.send(code) == "proof"
    assert [(r.body, r.status) for r in outbox.for_recipient(site.relay.db, PHONE)] == [
        ("Tests passed.", "pending"), (PROVEN["login"], "pending"),
    ]  # fmt: skip
    assert (await site.client.get("/account/verify.json")).json() == {"next": "/account"}
    assert (await site.client.get("/account")).status_code == 200
    with site.relay.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 0


async def test_the_sign_in_page_does_not_tell_which_numbers_have_accounts(site: Site) -> None:
    """Click-to-chat: a number with an account and one without get the same statuses
    and the same page."""
    await _same_for_known_and_unknown(site)


async def test_typed_sign_in_does_not_tell_which_numbers_have_accounts(typed_site: Site) -> None:
    """With codes sent to type: the same statuses, page and wording for both, and the same
    429 for a second code within 30 s (before, only a known number was limited)."""
    seen = await _same_for_known_and_unknown(typed_site)
    assert seen[1] == 429


async def _same_for_known_and_unknown(site: Site) -> tuple[int, int, str]:
    users.add_user(site.relay.db, PHONE, "Grace")
    seen = []
    for phone in (PHONE, OTHER):
        site.client.cookies.clear()
        first = await site.form("/account/login", "/account/login", phone=phone)
        page = await site.client.get("/account/verify")
        again = await site.form("/account/login", "/account/login", phone=phone)
        words = page.text.replace(phone, "N")
        words = re.sub(r"\d{6}|<svg.*</svg>|https://wa.me/\S+|value=\"[^\"]+\"", "", words)
        seen.append((first.status_code, again.status_code, words))
    assert seen[0] == seen[1]
    return seen[0]


async def test_logging_out_ends_the_session_for_a_copied_cookie(site: Site) -> None:
    """A cookie copied while signed in no longer opens the account page after logout."""
    users.add_user(site.relay.db, PHONE, "Grace")
    await site.form("/account/login", "/account/login", phone=PHONE)
    await site.prove("account")
    copied = dict(site.client.cookies)
    assert (await site.client.get("/account")).status_code == 200
    await site.form("/account", "/account/logout")
    transport = site.client._transport  # the same app, another browser with the old cookie
    async with httpx.AsyncClient(
        transport=transport, base_url="http://relay.test", cookies=copied
    ) as thief:
        stolen = await thief.get("/account")
    assert stolen.status_code == 303 and stolen.headers["location"] == "/account/login"


async def test_one_session_may_ask_for_codes_for_three_numbers_an_hour(site: Site) -> None:
    """The fourth number from one browser session gets a 429 and no code; nobody is
    registered for any of them."""
    for n in range(3):
        sent = await site.form("/signup", "/signup", invite=INVITE, phone=f"+1555000010{n}")
        assert sent.status_code == 303
    fourth = await site.form("/signup", "/signup", invite=INVITE, phone="+15550000109")
    assert fourth.status_code == 429 and "Too many codes" in fourth.text
    assert users.list_users(site.relay.db) == []
    with site.relay.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(PhoneProof)) == 3


async def test_one_address_may_ask_for_ten_codes_an_hour(site: Site) -> None:
    """Fresh sessions from one address are limited too: the eleventh gets a 429."""
    codes = []
    for n in range(11):
        site.client.cookies.clear()
        sent = await site.form("/signup", "/signup", invite=INVITE, phone=f"+155500002{n:02d}")
        codes.append(sent.status_code)
    assert codes == [303] * 10 + [429]


async def test_one_invite_may_start_fifty_signups_an_hour(site: Site) -> None:
    """An invite code handed around is limited across sessions and addresses."""
    with site.relay.db.transaction() as s:
        name = "signup:invite:" + hashlib.sha256(INVITE.encode()).hexdigest()[:32]
        s.add_all([ThrottleHit(bucket=name, at=utcnow()) for _ in range(50)])
    refused = await site.form("/signup", "/signup", invite=INVITE, phone=PHONE)
    assert refused.status_code == 429


@pytest.mark.parametrize("phone", ["+١٥٥٥٧٦٥٤٣٢١", "+１５５５７６５４３２１", "+1555\u200b7654321"])
async def test_phone_numbers_take_ascii_digits_only(site: Site, phone: str) -> None:
    """Arabic-Indic or full-width digits (or a trailing newline) are refused with a 400."""
    response = await site.form("/signup", "/signup", invite=INVITE, phone=phone)
    assert response.status_code == 400 and "E.164" in response.text


async def test_a_code_sent_to_the_phone_is_never_in_the_database(typed_site: Site) -> None:
    """The template's code is derived as it is sent: neither the outbox row nor the raw
    database file holds it, so the operator's pages cannot show it."""
    site = typed_site
    await site.form("/signup", "/signup", invite=INVITE, phone=PHONE)
    code = site.last_code()
    (row,) = outbox.for_recipient(site.relay.db, PHONE)
    assert row.content_variables is None and code not in row.body
    assert code.encode() not in database_bytes(site.relay.db)


def test_the_database_file_and_its_folder_are_private(tmp_path: Path) -> None:
    """A new SQLite database is created 0600 in a folder made 0700 (others cannot read it)."""
    path = tmp_path / "fresh" / "cockpit.db"
    db = Database(f"sqlite:///{path}")
    try:
        with db.transaction() as s:
            s.execute(text("CREATE TABLE t (x)"))
    finally:
        db.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


async def test_a_page_session_survives_a_key_rotation(site: Site) -> None:
    """A cookie signed before COCKPIT_SECRET_KEY changed still opens the account page while
    the old key is COCKPIT_SECRET_KEY_PREVIOUS, and no longer once it is removed."""
    users.add_user(site.relay.db, PHONE, "Grace")
    await site.form("/account/login", "/account/login", phone=PHONE)
    await site.prove("account")
    old_cookie = site.client.cookies["cockpit_web"]
    settings = site.relay.settings
    settings.secret_key_previous, settings.secret_key = settings.secret_key, SecretStr("n" * 32)
    assert (await site.client.get("/account")).status_code == 200
    settings.secret_key_previous = None
    site.client.cookies.set("cockpit_web", old_cookie)
    assert (await site.client.get("/account")).headers["location"] == "/account/login"

"""The operator's /admin pages: who gets in, what they see, and the retry button."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from cockpit.config import load_settings
from cockpit.core.messages import Inbound, OutboundDraft
from cockpit.errors import ConfigError
from cockpit.host.visuals.screenshot import CHROMIUM_ARGS
from cockpit.relay.runtime import Relay
from cockpit.server import build_relay, create_app
from cockpit.store import inbox, outbox, users
from cockpit.store.migrate import upgrade
from tests.live import serve, wait_until
from tests.relay.conftest import ADA, AUTH_TOKEN, Stack, relay_settings, running_stack
from tests.requirements import require_chromium

PASSWORD = "correct horse battery staple"
PAGES = ("/admin", "/admin/users", "/admin/hosts", "/admin/messages", "/admin/failed")
PASTED_KEY = "sk-ant-api03-" + "Z" * 40


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, made once: each test copies it (migrating takes seconds)."""
    path = tmp_path_factory.mktemp("admin-db") / "cockpit.db"
    upgrade(f"sqlite:///{path}")
    return path


def _relay(tmp_path: Path, migrated: Path, **overrides: object) -> Relay:
    shutil.copy(migrated, tmp_path / "cockpit.db")
    url = f"sqlite:///{tmp_path / 'cockpit.db'}"
    settings = relay_settings(url, tmp_path / "data", "http://testserver", "http://127.0.0.1:9",
                              **overrides)  # fmt: skip
    return build_relay(settings)


@pytest.fixture
async def relay(tmp_path: Path, migrated: Path) -> AsyncIterator[Relay]:
    """A relay with the admin password set, Ada registered, one failed reply to her."""
    built = _relay(tmp_path, migrated, admin_password=PASSWORD)
    user = users.add_user(built.db, ADA, "Ada")
    message = Inbound("SM" + "1" * 32, ADA, "whatsapp:+14155238886", f"my key is {PASTED_KEY}")
    inbox.store_inbound(built.db, message, user.id)
    outbox.enqueue_now(built.db, [OutboundDraft(key="k1", to=ADA, body="lost reply")])
    row = outbox.claim(built.db, outbox.for_recipient(built.db, ADA)[0], "w", 10.0)
    assert row is not None
    outbox.mark_failed(built.db, row, "400 refused", 21211)
    yield built
    built.db.dispose()


def _client(relay: Relay, client: tuple[str, int] = ("127.0.0.1", 1234)) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(relay), client=client)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@asynccontextmanager
async def _signed_in(relay: Relay) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(relay) as client:
        response = await client.post("/admin/login", data={"password": PASSWORD})
        assert response.status_code == 303 and response.headers["location"] == "/admin"
        yield client


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert match, page
    return match.group(1)


async def test_without_a_password_the_admin_pages_are_off(tmp_path: Path, migrated: Path) -> None:
    """No COCKPIT_ADMIN_PASSWORD: every /admin path is a 404 saying how to turn it on."""
    relay = _relay(tmp_path, migrated)
    async with _client(relay) as client:
        for path in (*PAGES, "/admin/login"):
            response = await client.get(path)
            assert response.status_code == 404
            assert "set COCKPIT_ADMIN_PASSWORD" in response.json()["detail"]
        assert (await client.post("/admin/login", data={"password": ""})).status_code == 404
    relay.db.dispose()


def test_a_short_admin_password_stops_the_start_without_echoing_it() -> None:
    """COCKPIT_ADMIN_PASSWORD under 12 characters is refused, naming the setting only."""
    with pytest.raises(ConfigError) as refused:
        load_settings(admin_password="hunter2")
    assert "COCKPIT_ADMIN_PASSWORD" in str(refused.value) and "12" in str(refused.value)
    assert "hunter2" not in str(refused.value)


async def test_a_stranger_is_sent_to_the_login_and_cannot_post(relay: Relay) -> None:
    """Without a valid session (none, or a forged cookie) pages redirect and posts are 403."""
    async with _client(relay) as client:
        for cookie in (None, "forged.cookie.value"):
            client.cookies.clear()
            if cookie:
                client.cookies.set("cockpit_admin", cookie, path="/admin")
            for path in PAGES:
                response = await client.get(path)
                assert (response.status_code, response.headers["location"]) == (
                    303, "/admin/login",
                )  # fmt: skip
            retry = await client.post("/admin/failed/1/retry", data={"csrf": "0" * 64})
            assert retry.status_code == 403
    assert outbox.for_recipient(relay.db, ADA)[0].status == "failed"


async def test_signing_out_ends_the_session(relay: Relay) -> None:
    """After Sign out the pages send the operator back to the login."""
    async with _signed_in(relay) as client:
        page = (await client.get("/admin/users")).text
        out = await client.post("/admin/logout", data={"csrf": _csrf(page)})
        assert (out.status_code, out.headers["location"]) == (303, "/admin/login")
        again = await client.get("/admin/users")
    assert (again.status_code, again.headers["location"]) == (303, "/admin/login")


async def test_wrong_passwords_are_refused_then_throttled(relay: Relay) -> None:
    """Five wrong passwords get 401; the sixth try, even with the right one, waits (429)."""
    async with _client(relay) as client:
        for _ in range(5):
            response = await client.post("/admin/login", data={"password": "guess"})
            assert response.status_code == 401 and "Wrong password." in response.text
            assert "cockpit_admin" not in response.cookies
        blocked = await client.post("/admin/login", data={"password": PASSWORD})
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 800
        assert "Too many wrong passwords" in blocked.text
    async with _client(relay, ("10.0.0.2", 999)) as other:
        assert (await other.post("/admin/login", data={"password": PASSWORD})).status_code == 303


async def test_a_login_that_is_not_our_form_is_refused_unread(relay: Relay) -> None:
    """A huge body gets 413 and JSON gets 415, before any password is checked."""
    async with _client(relay) as client:
        huge = await client.post("/admin/login", data={"password": "x" * 10_000})
        assert huge.status_code == 413 and "4096" in huge.json()["detail"]
        wrong = await client.post("/admin/login", json={"password": PASSWORD})
        assert wrong.status_code == 415
        assert (await client.post("/admin/login", data={"password": "x"})).status_code == 401


async def test_the_operator_sees_users_hosts_messages_and_metrics_but_no_secret(
    relay: Relay,
) -> None:
    """Each page shows its data; no setting's secret, nor a key a user pasted, appears whole."""
    secrets = (PASSWORD, AUTH_TOKEN, "test-secret-key", PASTED_KEY)
    async with _signed_in(relay) as client:
        assert (await client.post("/twilio/messages", data={"Body": "x"})).status_code == 403
        pages = {path: (await client.get(path)) for path in PAGES}
    assert all(page.status_code == 200 for page in pages.values())
    assert "Ada" in pages["/admin/users"].text and ADA in pages["/admin/users"].text
    assert "no hosts (echo agent)" in pages["/admin/hosts"].text
    assert "my key is sk-ant-…" in pages["/admin/messages"].text
    assert "lost reply" in pages["/admin/failed"].text and "21211" in pages["/admin/failed"].text
    overview = pages["/admin"].text
    assert re.search(r"failed deliveries</th>\s*<td[^>]*>1</td>", overview), overview
    assert '<td>cockpit_inbound_messages</td><td>result=rejected</td><td class="num">1</td>' in (
        overview
    )
    for page in pages.values():
        assert not [s for s in secrets if s in page.text]


async def test_a_retry_without_the_sessions_csrf_token_changes_nothing(relay: Relay) -> None:
    """A post lacking the token, or carrying another session's, is refused; the row stays failed."""
    async with _signed_in(relay) as other:
        foreign = _csrf((await other.get("/admin/failed")).text)
    async with _signed_in(relay) as client:
        row = outbox.for_recipient(relay.db, ADA)[0]
        for data in ({"note": "no token"}, {"csrf": foreign}):
            response = await client.post(f"/admin/failed/{row.id}/retry", data=data)
            assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    assert outbox.for_recipient(relay.db, ADA)[0].status == "failed"


async def test_a_second_retry_of_the_same_message_is_refused(relay: Relay) -> None:
    """Retry queues a failed message once; clicking again answers 409 and queues nothing."""
    async with _signed_in(relay) as client:
        page = (await client.get("/admin/failed")).text
        row = outbox.for_recipient(relay.db, ADA)[0]
        first = await client.post(f"/admin/failed/{row.id}/retry", data={"csrf": _csrf(page)})
        second = await client.post(f"/admin/failed/{row.id}/retry", data={"csrf": _csrf(page)})
    assert (
        first.status_code == 303 and first.headers["location"] == f"/admin/failed?retried={row.id}"
    )
    assert second.status_code == 409 and "is not failed" in second.json()["detail"]
    assert [(r.status, r.attempts) for r in outbox.for_recipient(relay.db, ADA)] == [("pending", 0)]


@pytest.fixture
def admin_stack(tmp_path: Path, migrated: Path) -> Iterator[Stack]:
    """Relay (echo) + simulator on loopback with the admin pages on (SQLite: the retry's
    query is the same on PostgreSQL, where tests/store covers it)."""
    shutil.copy(migrated, tmp_path / "cockpit.db")
    url = f"sqlite:///{tmp_path / 'cockpit.db'}"
    with running_stack(url, tmp_path / "data", admin_password=PASSWORD) as running:
        yield running


def test_the_retry_button_sends_a_failed_message_to_the_phone(admin_stack: Stack) -> None:
    """On a phone-sized Chromium, Retry on a reply Twilio refused delivers it, exactly once."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    admin_stack.sim.faults.fail_next, admin_stack.sim.faults.fail_status = 1, 400
    admin_stack.send("lost, then found")
    wait_until(lambda: [r.status for r in outbox.for_recipient(admin_stack.db, ADA)] == ["failed"])
    assert admin_stack.bodies() == []
    (row,) = outbox.for_recipient(admin_stack.db, ADA)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport={"width": 390, "height": 800})
        page.goto(f"{admin_stack.relay_url}/admin/failed")  # a stranger: sent to the login
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.click("a:has-text('Failed')")
        page.wait_for_selector("td:has-text('lost, then found')")
        fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.click(f"button:has-text('Retry #{row.id}')")
        note = page.inner_text("p.note")
        admin_stack.wait_received(1)
        page.goto(f"{admin_stack.relay_url}/admin/failed")
        after = page.inner_text("main")
        browser.close()
    assert fits and note == f"Message {row.id} is queued again; it goes out in its turn."
    assert "Nothing failed." in after
    assert admin_stack.bodies() == ["lost, then found"]
    assert [a.status for a in admin_stack.sim.attempts] == [400, 201]


async def test_parallel_wrong_passwords_are_throttled_too(relay: Relay) -> None:
    """200 wrong passwords sent at once over real HTTP: only five are checked, the rest 429."""
    with serve(create_app(relay)) as base:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
            answers = await asyncio.gather(
                *(client.post("/admin/login", data={"password": "guess"}) for _ in range(200))
            )
    codes = [answer.status_code for answer in answers]
    assert codes.count(401) == 5 and codes.count(429) == 195


async def test_a_web_pages_cookie_does_not_open_the_admin_pages(relay: Relay) -> None:
    """The signed `cockpit_web` cookie of /signup, sent as `cockpit_admin`, is no operator."""
    async with _client(relay) as client:
        await client.get("/signup")
        web_cookie = client.cookies["cockpit_web"]
        client.cookies.clear()
        client.cookies.set("cockpit_admin", web_cookie, path="/admin")
        response = await client.get("/admin/users")
    assert (response.status_code, response.headers["location"]) == (303, "/admin/login")

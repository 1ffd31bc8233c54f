"""The relay's web pages in-process (httpx over ASGI), on a real SQLite database."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from cockpit.config import load_settings
from cockpit.core import signup
from cockpit.core.messages import Inbound
from cockpit.relay import ingress
from cockpit.relay.runtime import Relay
from cockpit.server import build_relay, create_app
from cockpit.store import outbox, users
from cockpit.store.migrate import upgrade

INVITE = "beta-friends-2026"
PHONE = "+15557654321"
ANTHROPIC = "sk-ant-api03-" + "Wq3e" * 20 + "-Hk7Z"
GITHUB = "github_pat_11AAAAAAA0" + "Xy9z" * 15 + "Qp4R"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_SHOWN = re.compile(r'id="chat-code">(\d{6})<')
VERIFY_TEMPLATE = "HX" + "5" * 32  # an authentication template: codes are sent to type


def web_settings(db_url: str, data_dir: Path, **overrides: Any) -> Any:
    """Settings of a relay whose signup is open with INVITE (echo agent, no Twilio traffic)."""
    defaults: dict[str, Any] = dict(
        database_url=db_url, data_dir=data_dir, public_url="http://relay.test",
        secret_key="web-test-secret-key", twilio_account_sid="AC" + "2" * 32,
        twilio_auth_token="web-test-auth-token", twilio_whatsapp_from="whatsapp:+15550009999",
        twilio_api_base_url="http://127.0.0.1:9", agent="echo", invite_codes=INVITE,
    )  # fmt: skip
    return load_settings(**(defaults | overrides))


@dataclass
class Site:
    """A browser-like client of the relay's pages, and the relay behind them."""

    client: httpx.AsyncClient
    relay: Relay
    sent: int = 0

    async def form(self, page: str, action: str, **fields: str) -> httpx.Response:
        """Open `page`, then post `fields` (with the page's CSRF token) to `action`."""
        opened = await self.client.get(page)
        match = _CSRF.search(opened.text)
        assert match, f"no form on {page}: {opened.status_code}"
        return await self.client.post(action, data={"csrf": match.group(1), **fields})

    def last_code(self, phone: str = PHONE) -> str:
        """The code the latest template message queued to `phone` carries (typed mode),
        derived as the sender does."""
        rows = [r for r in outbox.for_recipient(self.relay.db, phone) if r.kind == "code"]
        assert rows, f"no code was sent to {phone}"
        assert self.relay.settings.secret_key is not None
        secret = self.relay.settings.secret_key.get_secret_value()
        return str(json.loads(signup.code_variables(secret, rows[-1].key))["1"])

    async def shown_code(self, page: str) -> str:
        """The click-to-chat code the page `page` shows."""
        opened = await self.client.get(page)
        match = _SHOWN.search(opened.text)
        assert match, f"no code on {page}: {opened.status_code} {opened.text[:300]}"
        return match.group(1)

    def send(self, body: str, phone: str = PHONE, sid: str | None = None) -> str:
        """The phone sends `body` on WhatsApp (through the relay's inbound path)."""
        self.sent += 1
        message = Inbound(sid=sid or f"SM{self.sent:032d}", from_number=phone,
                          to="whatsapp:+15550009999", body=body)  # fmt: skip
        return ingress.accept(self.relay, message)

    async def prove(self, kind: str, phone: str = PHONE) -> httpx.Response:
        """Prove `phone` on the code page of `kind` (`signup` or `account`), either way."""
        if self.relay.settings.twilio_content_sid_verify:
            code = self.last_code(phone)
            return await self.form(f"/{kind}/verify", f"/{kind}/verify", code=code)
        assert self.send(await self.shown_code(f"/{kind}/verify"), phone) == "proof"
        return await self.form(f"/{kind}/verify", f"/{kind}/verify")

    def messages(self, phone: str = PHONE) -> list[str]:
        """Every message queued to `phone`, in order."""
        return [r.body for r in outbox.for_recipient(self.relay.db, phone)]

    def user(self, phone: str = PHONE) -> users.UserRecord | None:
        return users.find_by_phone(self.relay.db, phone)

    async def verified(self, phone: str = PHONE) -> None:
        """Go through the first signup step: invite, phone, code."""
        sent = await self.form("/signup", "/signup", invite=INVITE, phone=phone, name="Grace")
        assert sent.status_code == 303, sent.text
        checked = await self.prove("signup", phone)
        assert checked.headers["location"] == "/signup/github", checked.text


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, made once per run (migrating takes about a second)."""
    path = tmp_path_factory.mktemp("web-template") / "cockpit.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(_migrated_sqlite: Path, tmp_path: Path) -> str:
    """A migrated, empty SQLite database of this test's own."""
    path = tmp_path / "cockpit.db"
    shutil.copyfile(_migrated_sqlite, path)
    return f"sqlite:///{path}"


@pytest.fixture
async def site(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Site]:
    """The relay app in-process (its workers not started), and a client with cookies;
    phones are proven by click-to-chat (no verification template)."""
    async for made in _site(web_settings(sqlite_url, tmp_path / "data")):
        yield made


@pytest.fixture
async def typed_site(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Site]:
    """As `site`, with an authentication template: codes are sent to the phone to type."""
    data = tmp_path / "data"
    settings = web_settings(sqlite_url, data, twilio_content_sid_verify=VERIFY_TEMPLATE)
    async for made in _site(settings):
        yield made


async def _site(settings: Any) -> AsyncIterator[Site]:
    relay = build_relay(settings)
    app = create_app(relay)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relay.test") as client:
        yield Site(client, relay)
    await app.state.jobs.aclose()
    relay.db.dispose()

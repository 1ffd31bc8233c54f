"""The relay's web pages in-process (httpx over ASGI), on a real SQLite database."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from cockpit.config import load_settings
from cockpit.relay.app import build_relay, create_relay_app
from cockpit.relay.runtime import Relay
from cockpit.store import outbox, users
from cockpit.store.migrate import upgrade

INVITE = "beta-friends-2026"
PHONE = "+15557654321"
ANTHROPIC = "sk-ant-api03-" + "Wq3e" * 20 + "-Hk7Z"
GITHUB = "github_pat_11AAAAAAA0" + "Xy9z" * 15 + "Qp4R"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_CODE = re.compile(r"Your cockpit code is (\d{6})\.")


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

    async def form(self, page: str, action: str, **fields: str) -> httpx.Response:
        """Open `page`, then post `fields` (with the page's CSRF token) to `action`."""
        opened = await self.client.get(page)
        match = _CSRF.search(opened.text)
        assert match, f"no form on {page}: {opened.status_code}"
        return await self.client.post(action, data={"csrf": match.group(1), **fields})

    def last_code(self, phone: str = PHONE) -> str:
        """The code in the latest WhatsApp message queued to `phone`."""
        bodies = [r.body for r in outbox.for_recipient(self.relay.db, phone)]
        codes = [m.group(1) for b in bodies if (m := _CODE.search(b))]
        assert codes, f"no code was sent to {phone}: {bodies}"
        return codes[-1]

    def messages(self, phone: str = PHONE) -> list[str]:
        """Every message queued to `phone`, in order."""
        return [r.body for r in outbox.for_recipient(self.relay.db, phone)]

    def user(self, phone: str = PHONE) -> users.UserRecord | None:
        return users.find_by_phone(self.relay.db, phone)

    async def verified(self, phone: str = PHONE) -> None:
        """Go through the first signup step: invite, phone, code."""
        sent = await self.form("/signup", "/signup", invite=INVITE, phone=phone, name="Grace")
        assert sent.status_code == 303, sent.text
        checked = await self.form("/signup/verify", "/signup/verify", code=self.last_code(phone))
        assert checked.headers["location"] == "/signup/github"


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
    """The relay app in-process (its workers not started), and a client with cookies."""
    relay = build_relay(web_settings(sqlite_url, tmp_path / "data"))
    app = create_relay_app(relay)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relay.test") as client:
        yield Site(client, relay)
    await app.state.jobs.aclose()
    relay.db.dispose()

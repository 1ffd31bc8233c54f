"""Signing up in a real Chromium, with the code read on the simulated phone, to a real host."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from cockpit.channels.simulator import PhoneSimulator
from cockpit.core.signup import GOODBYE, WELCOME
from cockpit.relay.app import build_relay, create_relay_app
from cockpit.store.db import Database
from cockpit.store.migrate import upgrade
from tests.fakes.anthropic import AnthropicFake, say
from tests.fakes.git_http import GitServer, git_server
from tests.live import bound_socket, serve, wait_until
from tests.rawdb import database_bytes, leaks
from tests.requirements import require_chromium, require_claude_cli
from tests.web.conftest import ANTHROPIC, GITHUB, INVITE, PHONE, web_settings

pytestmark = [pytest.mark.chromium, pytest.mark.claude]
ROTATED = "sk-ant-api03-" + "Rr5t" * 20 + "-Vb2M"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


@dataclass
class Local:
    url: str
    db: Database
    data_dir: Path
    github: str


@pytest.fixture
def github_git(tmp_path: Path) -> Iterator[GitServer]:
    """GitHub's git side: grace/compiler, readable with the user's token."""
    with git_server(tmp_path / "git", GITHUB) as server:
        server.add_repo("grace/compiler", {"README.md": "# The compiler\n"})
        yield server


@pytest.fixture
def local(tmp_path: Path, anthropic_fake: AnthropicFake, github_git: GitServer) -> Iterator[Local]:
    """Relay + phone simulator on one loopback port (as `cockpit up`), Claude hosts, no users."""
    require_claude_cli()
    db_url = f"sqlite:///{tmp_path / 'cockpit.db'}"
    upgrade(db_url)
    sock = bound_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = web_settings(
        db_url, tmp_path / "data", public_url=url, twilio_api_base_url=url, agent="claude",
        anthropic_base_url=anthropic_fake.url, claude_max_retries=0, poll_seconds=0.1,
        retry_base_seconds=0.05, order_timeout_seconds=2.0, github_oauth_base_url=github_git.url,
    )  # fmt: skip
    relay = build_relay(settings)
    assert settings.twilio_auth_token is not None
    sim = PhoneSimulator(
        account_sid=settings.twilio_account_sid or "",
        auth_token=settings.twilio_auth_token.get_secret_value(),
        whatsapp_from=settings.twilio_whatsapp_from or "",
        webhook_url=f"{url}/twilio/messages",
        callback_delay=0.02,
    )
    app = create_relay_app(relay, extra_routers=[sim.router], closers=[sim.aclose])
    with serve(app, sock):
        yield Local(url, Database(db_url), tmp_path / "data", github_git.url)


@pytest.fixture
def browser() -> Iterator[Any]:
    """The system Chromium, driven by Playwright."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def host_pid(host_dir: Path) -> int:
    """The process id of the local host recorded in `host_dir`."""
    pid: int = json.loads((host_dir / "host.pid").read_text())["pid"]
    return pid


def host_environment(host_dir: Path) -> dict[str, str]:
    """The environment the local host process was started with (read from /proc)."""
    raw = Path(f"/proc/{host_pid(host_dir)}/environ").read_bytes().decode()
    return dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)


def phone_texts(phone: Any) -> list[str]:
    """The texts of the messages the simulated phone has received."""
    texts: list[str] = phone.locator(".bubble.in .text").all_inner_texts()
    return texts


def code_on(phone: Any) -> str:
    """The code in the latest WhatsApp message, read off the phone's screen."""
    phone.wait_for_function(
        "[...document.querySelectorAll('.bubble.in .text')]"
        ".some(e => e.textContent.includes('Your cockpit code is'))"
    )
    found = [m.group(1) for t in phone_texts(phone) if (m := re.search(r"is (\d{6})\.", t))]
    return found[-1]


def test_signup_in_chromium_to_a_welcome_then_deleting_destroys_the_host(
    local: Local, browser: Any, anthropic_fake: AnthropicFake
) -> None:
    """Sign up in Chromium → code read on the phone → host with the user's key and clone →
    welcome; a rotated key reaches the restarted host; deleting destroys it, no secret left."""
    # wait_for_function polls with eval, which the phone page's CSP forbids (see test_surface)
    context = browser.new_context(viewport={"width": 390, "height": 800}, bypass_csp=True)
    context.set_default_timeout(20_000)
    page, phone = context.new_page(), context.new_page()
    phone.goto(f"{local.url}/phone?number={PHONE}")
    page.goto(f"{local.url}/signup")
    page.fill("#invite", INVITE)
    page.fill("#phone", PHONE)
    page.fill("#name", "Grace")
    page.click("#send-code")
    page.fill("#code", code_on(phone))
    page.click("#verify")
    page.fill("#token", GITHUB)
    page.click("#save-token")
    page.fill("#anthropic_api_key", ANTHROPIC)
    page.click("#save-keys")
    page.fill("#repo", "grace/compiler")
    page.click("#save-repo")
    assert "…Hk7Z" in page.inner_text("main") and ANTHROPIC not in page.content()
    page.click("#submit")
    page.wait_for_selector("#ready", state="visible", timeout=60_000)
    wait_until(lambda: WELCOME in phone_texts(phone), timeout=20)
    workspace = local.data_dir / "workspaces" / PHONE.lstrip("+")
    assert (workspace / "README.md").read_text() == "# The compiler\n"  # cloned with the token

    blob = database_bytes(local.db)
    assert not leaks(blob, ANTHROPIC) and not leaks(blob, GITHUB)

    host_dir = local.data_dir / "hosts" / PHONE.lstrip("+")
    environ = host_environment(host_dir)
    assert environ["ANTHROPIC_API_KEY"] == ANTHROPIC  # the user's own key, not the relay's
    assert environ["COCKPIT_REPO_URL"] == f"{local.github}/grace/compiler"

    page.goto(f"{local.url}/account")
    page.fill("#anthropic_api_key", ROTATED)
    page.click("#save-keys")
    assert "restarted with the new keys" in page.inner_text("#notice")
    assert "…Vb2M" in page.inner_text("#hint-anthropic")
    anthropic_fake.script([say("Still here, with the new key.")])
    phone.fill("#composer", "again")
    phone.click("#send")
    wait_until(lambda: "Still here, with the new key." in phone_texts(phone), timeout=60)
    assert set(anthropic_fake.api_keys) == {ROTATED}  # Claude on the restarted host used it

    pid = host_pid(host_dir)
    page.goto(f"{local.url}/account")
    page.fill("#confirm", "DELETE")
    page.click("#delete")
    page.wait_for_selector("#deleted")
    wait_until(lambda: GOODBYE in phone_texts(phone), timeout=20)
    assert not host_dir.exists() and not Path(f"/proc/{pid}").exists()
    with local.db.engine.connect() as conn:
        for table in ("user_secrets", "user_data_keys", "users"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0  # noqa: S608
    context.close()

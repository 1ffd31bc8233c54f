"""Signing up in a real Chromium, with the code read on the simulated phone, to a real host."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from cockpit.channels.simulator import PhoneSimulator
from cockpit.core.signup import GOODBYE, PROVEN, WELCOME
from cockpit.server import build_relay, create_app
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
        server.add_repo("grace/linker", {"LINKER.md": "# The linker\n"})
        yield server


@pytest.fixture
def local(tmp_path: Path, anthropic_fake: AnthropicFake, github_git: GitServer) -> Iterator[Local]:
    """Relay + phone simulator on one loopback port (as `cockpit up`), Claude hosts, no users;
    the simulator refuses free-form messages to numbers that never wrote, as WhatsApp does."""
    with _local(tmp_path, anthropic_fake, github_git) as made:
        yield made


@pytest.fixture
def typed_local(
    tmp_path: Path, anthropic_fake: AnthropicFake, github_git: GitServer
) -> Iterator[Local]:
    """As `local`, with an approved authentication template: codes go to the phone."""
    with _local(tmp_path, anthropic_fake, github_git, twilio_content_sid_verify=VERIFY) as made:
        yield made


VERIFY = "HX" + "9" * 32


@contextmanager
def _local(
    tmp_path: Path, anthropic_fake: AnthropicFake, github_git: GitServer, **overrides: Any
) -> Iterator[Local]:
    require_claude_cli()
    db_url = f"sqlite:///{tmp_path / 'cockpit.db'}"
    upgrade(db_url)
    sock = bound_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = web_settings(
        db_url, tmp_path / "data", public_url=url, twilio_api_base_url=url, agent="claude",
        anthropic_base_url=anthropic_fake.url, claude_max_retries=0, poll_seconds=0.1,
        retry_base_seconds=0.05, order_timeout_seconds=2.0, github_oauth_base_url=github_git.url,
        **overrides,
    )  # fmt: skip
    relay = build_relay(settings)
    assert settings.twilio_auth_token is not None
    sim = PhoneSimulator(
        account_sid=settings.twilio_account_sid or "",
        auth_token=settings.twilio_auth_token.get_secret_value(),
        whatsapp_from=settings.twilio_whatsapp_from or "",
        webhook_url=f"{url}/twilio/messages",
        callback_delay=0.02,
        templates={VERIFY: "Your cockpit code is {{1}}. It expires in 10 minutes."},
        first_contact_open=False,
    )
    app = create_app(relay, extra_routers=[sim.router], closers=[sim.aclose])
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


def send_from(phone: Any, text: str) -> None:
    """Type `text` on the simulated phone and send it."""
    phone.fill("#composer", text)
    phone.click("#send")


def test_signup_in_chromium_to_a_welcome_then_deleting_destroys_the_host(
    local: Local, browser: Any, anthropic_fake: AnthropicFake
) -> None:
    """Sign up in Chromium → the code read off the page is sent from the phone → the page
    moves on by itself → host with the user's key and clone → welcome (the phone never
    wrote before, so only the proving message lets it through); a rotated key reaches the
    restarted host; deleting destroys it, no secret left."""
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
    code = page.inner_text("#chat-code").strip()
    assert page.get_attribute("#chat-link", "href") == f"https://wa.me/15550009999?text={code}"
    assert page.locator("#qr svg").count() == 1
    send_from(phone, code)
    page.wait_for_url("**/signup/github")
    wait_until(lambda: PROVEN["signup"] in phone_texts(phone), timeout=20)
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
    send_from(phone, "again")
    answered = "Still here, with the new key."  # the bubble may carry its ✅ line too
    wait_until(lambda: any(answered in t for t in phone_texts(phone)), timeout=60)
    assert set(anthropic_fake.api_keys) == {ROTATED}  # Claude on the restarted host used it

    page.goto(f"{local.url}/account")
    page.fill("#repo", "grace/linker")
    page.click("#save-repo")
    assert "fresh clone" in page.inner_text("#notice")
    assert (workspace / "LINKER.md").exists() and not (workspace / "README.md").exists()
    assert list((host_dir / "previous").glob("*.bundle"))  # the old clone, kept

    pid = host_pid(host_dir)
    page.goto(f"{local.url}/account")
    page.fill("#confirm", "DELETE")
    page.click("#delete")
    page.wait_for_selector("#deleted")
    wait_until(lambda: GOODBYE in phone_texts(phone), timeout=20)
    assert not host_dir.exists() and not Path(f"/proc/{pid}").exists()
    assert not workspace.exists()  # the clone goes with the account
    with local.db.engine.connect() as conn:
        for table in ("user_secrets", "user_data_keys", "users"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0  # noqa: S608
    context.close()


def test_with_a_verification_template_the_code_arrives_on_the_phone_to_type(
    typed_local: Local, browser: Any
) -> None:
    """With TWILIO_CONTENT_SID_VERIFY the code reaches a phone that never wrote (a template
    may), is typed on the page, and the page moves on; the database never held the code."""
    # wait_for_function (code_on) polls with eval, which the phone page's CSP forbids
    context = browser.new_context(viewport={"width": 390, "height": 800}, bypass_csp=True)
    context.set_default_timeout(20_000)
    page, phone = context.new_page(), context.new_page()
    phone.goto(f"{typed_local.url}/phone?number={PHONE}")
    page.goto(f"{typed_local.url}/signup")
    page.fill("#invite", INVITE)
    page.fill("#phone", PHONE)
    page.click("#send-code")
    code = code_on(phone)
    assert code.encode() not in database_bytes(typed_local.db)
    page.fill("#code", code)
    page.click("#verify")
    page.wait_for_url("**/signup/github")
    context.close()

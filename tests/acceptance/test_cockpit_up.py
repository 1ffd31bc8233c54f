"""`cockpit up` as a user runs it: a subprocess, its /phone page in a real Chromium."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from cockpit.host.visuals.screenshot import CHROMIUM_ARGS
from tests.fakes.anthropic import AnthropicFake, say
from tests.live import free_port, wait_until
from tests.requirements import require_chromium, require_claude_cli

pytestmark = pytest.mark.slow


@contextmanager
def cockpit_up_running(folder: Path, env: dict[str, str]) -> Iterator[str]:
    """`cockpit up` on a free port in `folder` with `env` added; yields its base URL."""
    port = free_port()
    log_path = folder / "up.log"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("COCKPIT_", "TWILIO_"))}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cockpit", "up", "--port", str(port)],
            cwd=folder, stdout=log, stderr=subprocess.STDOUT, env=clean | env,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if proc.poll() is not None:
            raise AssertionError(log_path.read_text())
        try:
            return httpx.get(f"{base}/healthz").status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(healthy, timeout=60)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        code = proc.wait(timeout=30)
        assert code == 0, log_path.read_text()[-3000:]
    assert (folder / ".cockpit" / "cockpit.db").exists()
    assert "/phone" in log_path.read_text()


@pytest.fixture
def cockpit_up(tmp_path: Path) -> Iterator[str]:
    """`cockpit up` with the echo agent in an empty folder."""
    with cockpit_up_running(tmp_path, {"COCKPIT_AGENT": "echo"}) as base:
        yield base


def test_the_phone_page_sends_a_message_and_shows_the_echo(cockpit_up: str) -> None:
    """In a real browser, typing on /phone and pressing send shows the agent's echo bubble."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport={"width": 390, "height": 800})
        page.goto(f"{cockpit_up}/phone")
        page.fill("#composer", "hello from the browser")
        page.click("#send")
        page.wait_for_selector(".bubble.in .text:has-text('hello from the browser')", timeout=15000)
        page.screenshot(path=str(Path.cwd() / "phone.png"))
        outgoing = page.locator(".bubble.out .text").all_inner_texts()
        browser.close()
    assert outgoing == ["hello from the browser"]


def test_cockpit_up_runs_claude_code_for_the_registered_user(
    tmp_path: Path, anthropic_fake: AnthropicFake
) -> None:
    """With the default agent, `cockpit up` starts a local host and Claude answers the phone."""
    require_claude_cli()
    anthropic_fake.script([say("Hello from your own Claude Code.")])
    env = {"ANTHROPIC_API_KEY": "sk-test", "ANTHROPIC_BASE_URL": anthropic_fake.url,
           "COCKPIT_CLAUDE_MAX_RETRIES": "0"}  # fmt: skip
    with cockpit_up_running(tmp_path, env) as base:
        phone = {"from": "+15550001111", "body": "hi there"}
        assert (
            httpx.post(f"{base}/phone/api/send", json=phone, timeout=10).json()["relay_status"]
            == 200
        )

        def answers() -> list[str]:
            thread = httpx.get(f"{base}/phone/api/messages", params={"number": "+15550001111"})
            return [m["body"] for m in thread.json() if m["side"] == "in"]

        wait_until(lambda: any("✅ Done" in b for b in answers()), timeout=90)
        bodies = answers()
    assert "👀 on it" not in bodies  # the typing indicator was accepted instead
    assert any(b.startswith("Hello from your own Claude Code.") for b in bodies)

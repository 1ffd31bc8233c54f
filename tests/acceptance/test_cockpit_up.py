"""`cockpit up` as a user runs it: a subprocess, its /phone page in a real Chromium."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import free_port, wait_until
from tests.requirements import require_chromium

pytestmark = pytest.mark.slow
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip


@pytest.fixture
def cockpit_up(tmp_path: Path) -> Iterator[str]:
    """`cockpit up` on a free port in an empty folder; yields its base URL."""
    port = free_port()
    log = (tmp_path / "up.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cockpit", "up", "--port", str(port)],
        cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
        env={k: v for k, v in os.environ.items() if not k.startswith(("COCKPIT_", "TWILIO_"))}
        | {"COCKPIT_AGENT": "echo"},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if proc.poll() is not None:
            raise AssertionError((tmp_path / "up.log").read_text())
        try:
            return httpx.get(f"{base}/healthz").status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(healthy, timeout=60)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        code = proc.wait(timeout=20)
        log.close()
        assert code == 0, (tmp_path / "up.log").read_text()[-3000:]
    assert (tmp_path / ".cockpit" / "cockpit.db").exists()
    assert "/phone" in (tmp_path / "up.log").read_text()


def test_the_phone_page_sends_a_message_and_shows_the_echo(cockpit_up: str) -> None:
    """In a real browser, typing on /phone and pressing send shows the agent's echo bubble."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 800})
        page.goto(f"{cockpit_up}/phone")
        page.fill("#composer", "hello from the browser")
        page.click("#send")
        page.wait_for_selector(".bubble.in .text:has-text('hello from the browser')", timeout=15000)
        page.screenshot(path=str(Path.cwd() / "phone.png"))
        outgoing = page.locator(".bubble.out .text").all_inner_texts()
        browser.close()
    assert outgoing == ["hello from the browser"]

"""The phone page in a real Chromium: sending, live incoming messages, replies, images."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.channels.simulator_harness import ADA, BOB, Stack, png_bytes, simulator_stack
from tests.live import wait_until
from tests.requirements import require_chromium

pytestmark = pytest.mark.chromium

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = Path("/tmp/phone.png")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One system Chromium for the module, driven by Playwright."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def stack() -> Iterator[Stack]:
    """A running simulator and receiver."""
    with simulator_stack() as running:
        yield running


@pytest.fixture
def page(browser: Any, stack: Stack) -> Iterator[Any]:
    """The phone page of Ada's number at a phone's width, connected to the live stream."""
    # Playwright's wait_for_function polls with eval, which the page's CSP forbids; the CSP
    # itself is tested in tests/relay/test_surface.py and by test_cockpit_up's browser.
    context = browser.new_context(
        viewport={"width": 390, "height": 760}, device_scale_factor=2, bypass_csp=True
    )
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.goto(f"{stack.url}/phone?number={ADA}")
    tab.wait_for_function("document.getElementById('conn').textContent === 'online'")
    yield tab
    context.close()


def test_typing_a_message_sends_a_signed_webhook(page: Any, stack: Stack) -> None:
    """Typing and pressing send posts a signed webhook; the bubble gets two ticks."""
    page.fill("#composer", "hello from Chromium")
    page.click("#send")
    (hit,) = wait_until(stack.receiver.webhooks)
    assert hit.is_signed() and hit.params["Body"] == "hello from Chromium"
    assert hit.params["From"] == f"whatsapp:{ADA}"
    bubble = page.locator(".bubble.out").last
    assert bubble.locator(".text").inner_text() == "hello from Chromium"
    page.wait_for_selector(".bubble.out[data-status='delivered']")
    assert bubble.locator(".ticks").inner_text() == "✓✓"
    assert page.input_value("#composer") == ""


def test_an_agent_message_appears_live(page: Any, stack: Stack) -> None:
    """A message sent through the Messages API shows up as an incoming bubble without reload."""
    page.evaluate("window.notReloaded = true")
    stack.send(body="Build passed ✅ — *3 tests* fixed")
    incoming = page.locator(".bubble.in .text")
    incoming.wait_for()
    assert incoming.inner_text() == "Build passed ✅ — 3 tests fixed"
    assert page.locator(".bubble.in .text strong").inner_text() == "3 tests"
    assert page.evaluate("window.notReloaded") is True


def test_replying_to_an_agent_message_quotes_it(page: Any, stack: Stack) -> None:
    """Reply on an incoming bubble shows the quote and the webhook carries its SID."""
    agent_sid = stack.send(body="Deploy to production?").json()["sid"]
    page.locator(".bubble.in").wait_for()
    page.locator(".bubble.in .reply").click()
    assert page.locator("#quote .quote-text").inner_text() == "Deploy to production?"
    page.fill("#composer", "yes")
    page.press("#composer", "Enter")
    (hit,) = wait_until(stack.receiver.webhooks)
    assert hit.params["OriginalRepliedMessageSid"] == agent_sid
    quoted = page.locator(".bubble.out .quoted .quote-text")
    assert quoted.inner_text() == "Deploy to production?"
    assert page.locator("#quote").is_hidden()


def test_images_are_shown_and_can_be_sent(page: Any, stack: Stack, tmp_path: Path) -> None:
    """An agent image is shown inline; an attached image is sent as MediaUrl0."""
    stack.send(body="Here is the screenshot", MediaUrl=f"{stack.receiver_url}/media/ok.png")
    page.wait_for_function(
        "[...document.querySelectorAll('.bubble.in img')].some(i => i.naturalWidth === 64)"
    )
    picture = tmp_path / "sketch.png"
    picture.write_bytes(png_bytes("#0b8043"))
    page.set_input_files("#attach", str(picture))
    page.locator("#preview").wait_for()
    page.fill("#composer", "my sketch")
    page.click("#send")
    (hit,) = wait_until(stack.receiver.webhooks)
    assert hit.params["NumMedia"] == "1" and hit.params["Body"] == "my sketch"
    page.wait_for_function(
        "[...document.querySelectorAll('.bubble.out img')].some(i => i.naturalWidth === 64)"
    )


def test_switching_numbers_changes_the_thread(page: Any, stack: Stack) -> None:
    """Choosing another number shows its own thread and sends from that number."""
    stack.send(to=ADA, body="for Ada only")
    page.locator(".bubble.in").wait_for()
    page.fill("#number", BOB)
    page.press("#number", "Enter")
    page.wait_for_function("!document.querySelector('.bubble')")
    page.fill("#composer", "this is Bob")
    page.click("#send")
    (hit,) = wait_until(stack.receiver.webhooks)
    assert hit.params["From"] == f"whatsapp:{BOB}" and hit.params["ProfileName"] == "Bob"
    assert page.locator(".bubble.out .text").inner_text() == "this is Bob"


def test_a_refused_message_says_not_delivered(page: Any, stack: Stack) -> None:
    """When the relay refuses the webhook, the bubble says it was not delivered and why."""
    stack.receiver.webhook_status = 500
    page.fill("#composer", "anyone?")
    page.click("#send")
    page.wait_for_selector(".bubble.out[data-status='failed']")
    assert "Not delivered" in page.locator(".bubble.out .error").inner_text()
    assert "500" in page.locator(".bubble.out .error").inner_text()


def test_screenshot_of_a_conversation(page: Any, stack: Stack) -> None:
    """A short conversation renders as a chat (screenshot kept at /tmp/phone.png)."""
    stack.phone_send("Add a /health endpoint and show me the diff")
    agent_sid = stack.send(body="Done. *1 file* changed, tests pass:").json()["sid"]
    stack.send(body="", MediaUrl=f"{stack.receiver_url}/media/ok.png")
    stack.phone_send("Ship it 🚀", reply_to=agent_sid)
    page.wait_for_function("document.querySelectorAll('.bubble').length === 4")
    page.wait_for_function(
        "[...document.querySelectorAll('.bubble.in img')].some(i => i.naturalWidth > 0)"
    )
    page.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000

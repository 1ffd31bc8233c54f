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


def _content(stack: Stack, kind: str, variables: str) -> str:
    """Send a Content API message of `kind` to Ada; its message SID."""
    from cockpit.core import interactive

    hx = stack.client.post("/v1/Content", json=interactive.definition(kind)).json()["sid"]
    sent = stack.send(body=None, ContentSid=hx, ContentVariables=variables)
    assert sent.status_code == 201, sent.text
    return str(sent.json()["sid"])


def test_tapping_a_quick_reply_button_posts_its_payload(page: Any, stack: Stack) -> None:
    """Buttons show under the bubble; a tap posts ButtonPayload, ButtonText and Body."""
    from cockpit.core import interactive

    sid = _content(stack, "approval", interactive.approval("ap_7", "Run `ls`?").variables_json())
    page.locator(".action", has_text="Allow for session").click()
    (hit,) = wait_until(stack.receiver.webhooks)
    assert hit.is_signed() and hit.params["ButtonPayload"] == "ap_7:allow_session"
    assert hit.params["ButtonText"] == hit.params["Body"] == "Allow for session"
    assert hit.params["OriginalRepliedMessageSid"] == sid
    assert page.locator(".actions .action").count() == 3


def test_a_list_picker_opens_its_items_and_a_choice_is_sent(page: Any, stack: Stack) -> None:
    """The list's button opens its items; choosing one posts that item's id."""
    from cockpit.core import interactive

    options = ["PostgreSQL", "SQLite", "MySQL", "DuckDB"]
    asked = interactive.question("q_5", "Which database?", options)
    assert asked is not None
    _content(stack, asked.kind, asked.variables_json())
    page.locator(".list-open").click()
    page.locator(".sheet-item", has_text="DuckDB").click()
    (hit,) = wait_until(stack.receiver.webhooks)
    assert (hit.params["ButtonPayload"], hit.params["Body"]) == ("q_5:4", "DuckDB")
    assert page.locator("#sheet").is_hidden()


def test_the_header_says_typing_while_the_indicator_is_live(page: Any, stack: Stack) -> None:
    """A typing indicator call shows "typing…" in the header; the next message ends it."""
    inbound = stack.phone_send("run it")["sid"]
    stack.client.post(
        "/v2/Indicators/Typing.json", data={"messageId": inbound, "channel": "whatsapp"}
    )
    page.wait_for_function("document.getElementById('conn').textContent === 'typing…'")
    stack.send(body="Done.")
    page.wait_for_function("document.getElementById('conn').textContent === 'online'")


@pytest.mark.parametrize("width", [390, 1440])
def test_the_time_never_overlaps_a_short_message(browser: Any, stack: Stack, width: int) -> None:
    """On "1", "👀 on it" and "Let me look." the time sits beside the text, not on it."""
    stack.phone_send("1")
    for body in ("👀 on it", "Let me look."):
        stack.send(body=body)
    # bypass_csp: Playwright's wait_for_function polls with eval, which the page's CSP refuses
    context = browser.new_context(
        viewport={"width": width, "height": 800}, device_scale_factor=2, bypass_csp=True
    )
    tab = context.new_page()
    tab.goto(f"{stack.url}/phone?number={ADA}")
    tab.wait_for_function("document.querySelectorAll('.bubble').length === 3")
    wait_until(lambda: tab.locator(".bubble.out[data-status='delivered']").count() == 1)
    overlaps = tab.evaluate(
        """() => [...document.querySelectorAll('.bubble')].map((bubble) => {
          const range = document.createRange();
          const text = bubble.querySelector('.text');
          range.setStart(text, 0);
          range.setEnd(text, text.childNodes.length - 1);  // the words, not the spacer
          const words = range.getBoundingClientRect();
          const time = bubble.querySelector('.meta').getBoundingClientRect();
          return words.right > time.left && words.bottom > time.top;
        })"""
    )
    tab.screenshot(path=f"/tmp/phone-short-{width}.png")
    context.close()
    assert overlaps == [False, False, False]

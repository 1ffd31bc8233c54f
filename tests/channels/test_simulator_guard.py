"""The phone simulator refuses other hosts' names (DNS rebinding) and cross-site writes."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from cockpit.headers import PAGE_POLICY
from cockpit.host.visuals.screenshot import CHROMIUM_ARGS
from tests.channels.simulator_harness import ADA, Stack, simulator_stack
from tests.requirements import require_chromium

SEND = {"from": ADA, "body": "run rm -rf"}


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """A running simulator and receiver."""
    with simulator_stack() as running:
        yield running


def _post(stack: Stack, **headers: str) -> httpx.Response:
    return httpx.post(f"{stack.url}/phone/api/send", json=SEND, headers=headers, timeout=10)


def test_a_rebound_host_name_is_refused(stack: Stack) -> None:
    """A page reaching 127.0.0.1 under its own DNS name gets 400 and sends nothing."""
    before = len(stack.receiver.webhooks())
    port = stack.url.rsplit(":", 1)[1]
    page = httpx.get(f"{stack.url}/phone", headers={"Host": f"evil.example:{port}"})
    send = _post(stack, Host=f"evil.example:{port}")
    api = httpx.get(f"{stack.url}/phone/api/config", headers={"Host": "rebind.example"})
    assert [page.status_code, send.status_code, api.status_code] == [400, 400, 400]
    assert len(stack.receiver.webhooks()) == before


def test_loopback_names_are_trusted(stack: Stack) -> None:
    """127.0.0.1, localhost and the webhook's own host reach the page."""
    port = stack.url.rsplit(":", 1)[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost"):
        assert httpx.get(f"{stack.url}/phone", headers={"Host": host}).status_code == 200


def test_cross_site_posts_are_refused(stack: Stack) -> None:
    """A POST from another site's page (its Origin, or Sec-Fetch-Site) gets 403, nothing sent;
    the page's own origin and programs without an Origin pass."""
    before = len(stack.receiver.webhooks())
    foreign = _post(stack, Origin="http://evil.example")
    opaque = _post(stack, Origin="null")
    marked = _post(stack, **{"Sec-Fetch-Site": "cross-site"})
    faults = httpx.post(f"{stack.url}/phone/api/reset", headers={"Origin": "http://evil.example"})
    assert [r.status_code for r in (foreign, opaque, marked, faults)] == [403, 403, 403, 403]
    assert len(stack.receiver.webhooks()) == before
    assert _post(stack, Origin=stack.url).status_code == 200
    assert _post(stack).status_code == 200
    assert len(stack.receiver.webhooks()) == before + 2


def test_the_page_works_under_its_content_security_policy(stack: Stack) -> None:
    """In Chromium, with the CSP enforced, the page sends a message and shows the agent's
    answer, and the browser reports no CSP violation."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport={"width": 390, "height": 760})
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if "Content Security" in m.text else 0)
        response = page.goto(f"{stack.url}/phone?number={ADA}")
        assert response is not None and response.headers["content-security-policy"] == PAGE_POLICY
        page.fill("#composer", "hello under CSP")
        page.click("#send")
        page.wait_for_selector(".bubble.out .text:has-text('hello under CSP')", timeout=15000)
        stack.send(body="answer *bold*")
        page.wait_for_selector(".bubble.in .text:has-text('answer')", timeout=15000)
        browser.close()
    assert problems == []

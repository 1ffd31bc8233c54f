"""Voice notes on the phone simulator: sent over its API, attached and recorded in Chromium."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cockpit.voice.decode import decode, seconds
from tests.channels.simulator_harness import ADA, Stack, simulator_stack
from tests.channels.test_simulator_page import CHROMIUM_ARGS
from tests.live import wait_until
from tests.requirements import require_chromium
from tests.voice import voice_note

# Chromium's stand-in microphone (a beeping tone) and no permission prompt
FAKE_MIC = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


@pytest.fixture
def stack() -> Iterator[Stack]:
    """A running simulator and receiver."""
    with simulator_stack() as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One system Chromium for the module, with a fake microphone."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=[*CHROMIUM_ARGS, *FAKE_MIC]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, stack: Stack) -> Iterator[Any]:
    """Ada's phone page, connected to the live stream."""
    # bypass_csp: Playwright's wait_for_function polls with eval, which the page's CSP refuses
    context = browser.new_context(viewport={"width": 390, "height": 760}, bypass_csp=True)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.goto(f"{stack.url}/phone?number={ADA}")
    tab.wait_for_function("document.getElementById('conn').textContent === 'online'")
    yield tab
    context.close()


def _fetched(stack: Stack, url: str) -> httpx.Response:
    """MediaUrl0 fetched as the relay does: with the account's basic auth."""
    return stack.client.get(url)


def test_a_voice_note_goes_out_as_twilio_audio_media(stack: Stack, tmp_path: Path) -> None:
    """An Ogg/Opus note becomes MediaContentType0 audio/ogg, served back byte for byte."""
    note = voice_note(tmp_path, "please run the tests")
    stack.phone_send("", media=f"data:audio/ogg;base64,{base64.b64encode(note).decode()}")
    (hit,) = wait_until(stack.receiver.webhooks)
    assert hit.is_signed() and hit.params["NumMedia"] == "1"
    assert hit.params["MediaContentType0"] == "audio/ogg" and hit.params["Body"] == ""
    fetched = _fetched(stack, hit.params["MediaUrl0"])
    assert fetched.content == note and fetched.headers["content-type"] == "audio/ogg"


def test_non_media_data_urls_are_refused(stack: Stack) -> None:
    """Only images and audio can be sent; text/html is refused with a reason."""
    response = stack.client.post(
        "/phone/api/send",
        json={"from": ADA, "body": "", "media": "data:text/html;base64,PGgxPg=="},
    )
    assert response.status_code == 422 and "image or audio" in response.text


@pytest.mark.chromium
def test_an_attached_audio_file_is_sent_and_plays_in_the_thread(
    page: Any, stack: Stack, tmp_path: Path
) -> None:
    """The paperclip takes an audio file; the sent bubble has a player with the note's length."""
    note = tmp_path / "note.ogg"
    note.write_bytes(voice_note(tmp_path, "please run the tests"))
    page.set_input_files("#attach", str(note))
    page.locator("#preview-audio").wait_for()
    assert page.locator("#preview .preview-label").inner_text() == "Voice note attached"
    page.click("#send")
    (hit,) = wait_until(stack.receiver.webhooks)
    assert hit.params["MediaContentType0"] == "audio/ogg"
    page.wait_for_function(
        "[...document.querySelectorAll('.bubble.out .voice-note audio')]"
        ".some(a => a.duration > 1 && a.duration < 3)"
    )
    assert page.locator("#preview").is_hidden()
    page.evaluate("document.querySelector('.bubble.out audio').play()")
    page.wait_for_function("document.querySelector('.bubble.out audio').currentTime > 0.2")


@pytest.mark.chromium
def test_recording_with_the_microphone_sends_a_voice_note(
    page: Any, stack: Stack, tmp_path: Path
) -> None:
    """Tap the mic, tap again: the recording is sent as audio a host can decode."""
    page.click("#record")
    page.wait_for_selector("#record.recording")
    page.wait_for_timeout(1500)
    page.click("#record")
    (hit,) = wait_until(stack.receiver.webhooks, timeout=15)
    assert hit.params["MediaContentType0"].startswith("audio/")
    recorded = _fetched(stack, hit.params["MediaUrl0"]).content
    assert seconds(decode(recorded, 300)) > 0.8
    page.locator(".bubble.out .voice-note audio").wait_for()
    assert page.locator("#record.recording").count() == 0

"""Voice-note turns on a real host with the real Claude Code CLI: other sessions and /stop."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.fakes.anthropic import AnthropicFake, say
from tests.requirements import require_claude_cli
from tests.voice import long_note

pytestmark = [pytest.mark.claude, pytest.mark.slow, pytest.mark.timeout(300)]


def _note(data: bytes) -> list[dict[str, str]]:
    return [
        {
            "filename": "attachment1.ogg",
            "content_type": "audio/ogg",
            "data_b64": base64.b64encode(data).decode(),
        }
    ]


async def test_a_long_note_being_heard_does_not_hold_up_another_session(
    start_host: Any, anthropic_fake: AnthropicFake, tmp_path: Any
) -> None:
    """While session a's 18 s note is transcribed, session b's typed turn runs to its end."""
    require_claude_cli()
    host = await start_host()
    anthropic_fake.script([say("Done in b."), say("Heard you in a.")])
    events = host.reader()
    await host.turn("a1", "", session="a", media=_note(long_note(tmp_path, 8)))
    await host.turn("b1", "what is in the readme?", session="b")
    await events.wait_type("result", "b1", within=90)
    assert events.of("notice", "a1") == []  # a's note was still being heard
    notice = await events.wait_type("notice", "a1", within=240)
    assert notice["text"].startswith('🎙️ "') and "status" in notice["text"]
    await events.finished("a1", within=90)


async def test_stop_while_a_note_is_heard_ends_the_turn(
    start_host: Any, anthropic_fake: AnthropicFake, tmp_path: Any
) -> None:
    """Interrupting during transcription stops the turn; Claude is never asked."""
    require_claude_cli()
    host = await start_host()
    events = host.reader()
    await host.turn("t1", "", media=_note(long_note(tmp_path, 8)))
    await events.wait_type("ack", "t1")
    response = await host.client.post("/turns/t1/interrupt")
    assert response.status_code == 200
    error = await events.wait_type("error", "t1", within=20)
    assert error["kind"] == "interrupted"
    assert events.of("notice", "t1") == [] and anthropic_fake.main_requests == []

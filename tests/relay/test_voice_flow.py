"""Issue 14 end to end: a real voice note from the phone simulator, heard on the local host.

The simulator posts a signed, Twilio-shaped webhook whose MediaUrl0 only answers with
the account's basic auth; the relay fetches it and hands it to the host, which
transcribes it with PocketSphinx and gives the real Claude Code CLI the words.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.anthropic import AnthropicFake, last_user_text, say
from tests.live import wait_until
from tests.relay.conftest import Stack, claude_overrides, host_answers, running_stack
from tests.requirements import require_claude_cli
from tests.voice import HEARD, voice_note

pytestmark = [pytest.mark.claude, pytest.mark.slow]


def _audio(data: bytes, kind: str = "audio/ogg") -> str:
    """A recording as the phone page sends it: a data: URL."""
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def _heard(stack: Stack) -> list[str]:
    return [b for b in stack.bodies() if b.startswith("🎙️")]


@pytest.fixture
def whisper_stack(
    claude_db: str, tmp_path: Path, anthropic_fake: AnthropicFake, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Stack]:
    """The Claude stack with COCKPIT_TRANSCRIBER=whisper and the model hub unreachable."""
    require_claude_cli()
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on port 9
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    overrides = claude_overrides(anthropic_fake) | {"transcriber": "whisper"}
    with running_stack(claude_db, tmp_path / "data", **overrides) as s:
        wait_until(lambda: host_answers(tmp_path / "data" / "hosts" / "15551230001"), timeout=90)
        yield s


def test_a_voice_note_is_shown_as_heard_then_claude_gets_the_words(
    claude_stack: Stack, anthropic_fake: AnthropicFake, tmp_path: Path
) -> None:
    """The phone sees `🎙️ "please run the tests"` before Claude's answer; Claude got the text."""
    anthropic_fake.script([say("Running the tests now.")])
    claude_stack.send("", media=_audio(voice_note(tmp_path, "please run the tests")))
    bodies = claude_stack.wait_for("✅ Done", timeout=90)
    heard = _heard(claude_stack)
    assert len(heard) == 1 and HEARD["please run the tests"] in heard[0], bodies
    answer = next(b for b in bodies if b.startswith("Running the tests now."))
    assert bodies.index(heard[0]) < bodies.index(answer)
    prompt = last_user_text(anthropic_fake.main_requests[0])
    assert "please run the tests" in prompt and "voice note" in prompt
    assert "attachment1.ogg" not in prompt  # the words, not a file to open


def test_a_dictated_stop_is_sent_to_claude_not_obeyed(
    claude_stack: Stack, anthropic_fake: AnthropicFake, tmp_path: Path
) -> None:
    """Saying "stop" in a voice note is a message for Claude: commands stay typed."""
    anthropic_fake.script([say("Nothing is running, so there is nothing to stop.")])
    claude_stack.send("", media=_audio(voice_note(tmp_path, "stop")))
    bodies = claude_stack.wait_for("✅ Done", timeout=90)
    assert any("stop" in b for b in _heard(claude_stack)), bodies
    assert not any(b.startswith("⏹") for b in bodies)
    assert "stop" in last_user_text(anthropic_fake.main_requests[0])


def test_a_corrupt_voice_note_gets_one_plain_sentence_and_no_model_call(
    claude_stack: Stack, anthropic_fake: AnthropicFake
) -> None:
    """Bytes that are no audio: "I couldn't hear anything…", and Claude is not run."""
    claude_stack.send("", media=_audio(b"OggS" + bytes(range(256)) * 8))
    bodies = claude_stack.wait_for("couldn't hear anything", timeout=60)
    assert "⚠️ I couldn't hear anything in that voice note." in bodies
    assert anthropic_fake.main_requests == []
    anthropic_fake.script([say("Typed messages still work.")])
    claude_stack.send("hello")
    claude_stack.wait_for("Typed messages still work.", timeout=60)


def test_whisper_without_its_model_tells_the_phone_plainly(
    whisper_stack: Stack, anthropic_fake: AnthropicFake, tmp_path: Path
) -> None:
    """COCKPIT_TRANSCRIBER=whisper on an offline workspace: a clear sentence about the model."""
    whisper_stack.send("", media=_audio(voice_note(tmp_path, "please run the tests")))
    bodies = whisper_stack.wait_for("speech model", timeout=120)
    line = next(b for b in bodies if "speech model" in b)
    assert "whisper base" in line and "could not be downloaded" in line
    assert anthropic_fake.main_requests == []

"""Anthropic misbehaving under a real Claude Code turn, seen from the phone.

The stand-in fails with a 500, cuts a stream in the middle or keeps an answer waiting
(529 is in test_claude_flow.py); the phone is
told in plain words, the message is never lost, and the next message works.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cockpit.host.turn_stream import slow_answer_text
from tests.fakes.anthropic import AnthropicFake, conversation_text, cut, error, held, say
from tests.live import wait_until
from tests.relay.conftest import (
    CLASSIC_THREAD,
    Stack,
    claude_overrides,
    host_answers,
    running_stack,
)
from tests.requirements import require_claude_cli

pytestmark = [pytest.mark.claude, pytest.mark.slow]

FAILED_500 = (
    "⚠️ Anthropic answered with an error (500). Your message is kept: reply *retry* to run it again."
)
LOST = (
    "⚠️ Claude Code stopped with an error: API Error: Connection to the API was lost "
    "(ECONNRESET). This is usually temporary — try again. Your message is kept: reply "
    "*retry* to run it again."
)


@pytest.fixture
def thread() -> dict[str, Any]:
    """This module checks replies one by one: the classic thread ("👀 on it", no joins)."""
    return CLASSIC_THREAD


def _after(stack: Stack, count: int, last: str) -> list[str]:
    """The messages after the first `count`, once one of them starts with `last`."""
    wait_until(lambda: any(b.startswith(last) for b in stack.bodies()[count:]), timeout=60)
    return stack.bodies()[count:]


@pytest.fixture
def patient_stack(claude_db: str, tmp_path: Path, anthropic_fake: AnthropicFake) -> Iterator[Stack]:
    """The Claude stack with the slow-answer notice after 3 s instead of a minute."""
    require_claude_cli()
    overrides = claude_overrides(anthropic_fake) | CLASSIC_THREAD | {"slow_answer_seconds": 3.0}
    with running_stack(claude_db, tmp_path / "data", **overrides) as stack:
        wait_until(lambda: host_answers(tmp_path / "data" / "hosts" / "15551230001"), timeout=90)
        yield stack


def test_cut_streams_and_a_very_slow_answer_are_told_plainly_and_nothing_is_lost(
    patient_stack: Stack, anthropic_fake: AnthropicFake
) -> None:
    """A 500 and two cut streams each end the turn with a plain message, *retry* survives one
    cut whole; a model silent past the limit gets one notice, then its answer; nothing lost."""
    anthropic_fake.script([error(500, "api_error")])
    patient_stack.send("explain the outage")
    assert _after(patient_stack, 0, "⚠️") == ["👀 on it", FAILED_500]
    anthropic_fake.script([cut("I was about to"), cut("I was about to")])
    patient_stack.send("retry")
    assert _after(patient_stack, 2, "⚠️") == ["👀 on it", LOST]
    anthropic_fake.script([cut("Half an ans"), say("The whole answer, at last.")])
    patient_stack.send("Retry.")
    tail = _after(patient_stack, 4, "✅ Done")
    assert tail[:2] == ["👀 on it", "The whole answer, at last."]
    assert tail[2].startswith("✅ Done · ") and len(tail) == 3
    assert "explain the outage" in conversation_text(anthropic_fake.main_requests[-1])
    assert not any("I was about to" in b or "Half an ans" in b for b in patient_stack.bodies())
    _slow_answer(patient_stack, anthropic_fake, already=7)


def _slow_answer(stack: Stack, anthropic_fake: AnthropicFake, already: int) -> None:
    gate = threading.Event()
    anthropic_fake.script([held(gate, say("Worth the wait."))])
    stack.send("think slowly")
    stack.wait_for("⏳")
    gate.set()
    bodies = _after(stack, already, "✅ Done")
    assert bodies[:3] == ["👀 on it", slow_answer_text(3.0), "Worth the wait."]
    assert bodies[3].startswith("✅ Done · ") and len(bodies) == 4
    assert slow_answer_text(3.0) == (
        "⏳ Claude's model has not answered for 3 s: Anthropic is slow right now. "
        "I'm still waiting; reply *stop* to cancel."
    )
    anthropic_fake.script([say("Quick this time.")])
    stack.send("and now?")
    tail = _after(stack, already + 4, "✅ Done")
    assert tail[:2] == ["👀 on it", "Quick this time."] and len(tail) == 3

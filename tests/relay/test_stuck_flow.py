"""Issue 8 end to end: a stuck Claude is paused and the phone chooses a fresh session."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fakes.anthropic import AnthropicFake, Body, has_tool_result, last_user_text, say, tool
from tests.live import wait_until
from tests.relay.conftest import CLASSIC_THREAD, Stack

pytestmark = [pytest.mark.claude, pytest.mark.slow]

FALSE = {"command": "false", "description": "run the tests"}
SUMMARY_START = "You are taking over a task in a fresh session"
QUESTION = (
    "❓ Agent may be stuck (3 failed attempts at `false`). "
    "Reply *fresh* to start a fresh session with a summary, *continue*, or *stop*."
)


@pytest.fixture
def thread() -> dict[str, Any]:
    """This module checks replies one by one: the classic thread ("👀 on it", no joins)."""
    return CLASSIC_THREAD


def _fresh_prompt(body: Body) -> bool:
    """True for the first request of the fresh session."""
    return SUMMARY_START in last_user_text(body)


def test_a_stuck_turn_asks_the_phone_then_fresh_and_stop_do_what_they_say(
    claude_stack: Stack, anthropic_fake: AnthropicFake
) -> None:
    """`false` failing three times holds the turn and asks; *fresh* runs a new session told
    the story (which then keeps the conversation), and *stop* ends the next stuck turn."""
    anthropic_fake.script(
        [
            tool("Bash", FALSE),
            tool("Bash", FALSE, when=has_tool_result),
            tool("Bash", FALSE, when=has_tool_result),
            say("Fresh look: the test command is `false` itself.", when=_fresh_prompt),
        ]
    )
    claude_stack.send("make the tests pass")
    bodies = claude_stack.wait_for("Agent may be stuck")
    assert bodies[-1] == QUESTION
    held = len(anthropic_fake.main_requests)
    claude_stack.send("Fresh")
    bodies = claude_stack.wait_for("✅ Done")
    assert held == 3
    fresh = "🔄 Starting a fresh Claude session with a summary of what was tried."
    answer = "Fresh look: the test command is `false` itself."
    assert bodies.index(QUESTION) < bodies.index(fresh) < bodies.index(answer)
    first = anthropic_fake.main_requests[held]
    prompt = last_user_text(first)
    assert "make the tests pass" in prompt and "- false (failed) ×3" in prompt
    assert "The failing command: `false`" in prompt
    assert "tool_use" not in json.dumps(first["messages"])  # a new session: no old history
    assert _session(first) != _session(anthropic_fake.main_requests[0])
    anthropic_fake.script([say("You're welcome.")])
    claude_stack.send("thanks")
    claude_stack.wait_for("You're welcome.")
    assert _session(anthropic_fake.main_requests[-1]) == _session(first)  # the fresh one goes on
    _stop_ends_a_stuck_turn(claude_stack, anthropic_fake)


def _stop_ends_a_stuck_turn(stack: Stack, fake: AnthropicFake) -> None:
    """A bare *stop* answers the question: no more model calls, a clear message."""
    never = say("I would go on and on.", when=has_tool_result)
    fake.script([tool("Bash", FALSE), *[tool("Bash", FALSE, when=has_tool_result)] * 2, never])
    count = len(stack.bodies())
    stack.send("run them again")
    wait_until(lambda: stack.bodies()[count:].count(QUESTION) == 1, timeout=30)
    held = len(fake.main_requests)
    stack.send("stop")
    wait_until(lambda: any(b.startswith("⏹ Stopped ·") for b in stack.bodies()), timeout=30)
    bodies = stack.bodies()[count:]
    assert bodies[-2:-1] == ["⏹ Stopped (3 failed attempts at `false`). Your changes are kept."]
    assert bodies[-1].startswith("⏹ Stopped ·")
    assert len(fake.main_requests) == held and fake.pending == [never]


def _session(body: Body) -> str:
    """The Claude Code session a model request belongs to (from its metadata)."""
    return str(json.loads(body["metadata"]["user_id"])["session_id"])

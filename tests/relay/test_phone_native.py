"""Issue 13 end to end: buttons, typing… and a quiet thread, through the phone simulator,
the relay, a local host and the real Claude Code CLI."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from cockpit.core.host_events import APPROVAL_CHOICES
from cockpit.relay.host_agent import STALE_APPROVAL
from tests.fakes.anthropic import AnthropicFake, has_tool_result, say, tool
from tests.live import wait_until
from tests.relay.conftest import Stack

pytestmark = [pytest.mark.claude, pytest.mark.slow]


def _workspace(stack: Stack) -> Path:
    return (stack.settings.data_dir / "workspaces" / "15551230001").resolve()


def _faults(stack: Stack, **knobs: int) -> None:
    httpx.post(f"{stack.sim_url}/phone/api/faults", json=knobs, timeout=5).raise_for_status()


def _bash(command: str, then: str) -> list[object]:
    return [tool("Bash", {"command": command, "description": "run"}),
            say(then, when=has_tool_result)]  # fmt: skip


def test_one_task_reaches_the_phone_in_at_most_five_messages(
    claude_stack: Stack, anthropic_fake: AnthropicFake
) -> None:
    """Two files written, one approval tapped: at most 5 messages, and every file, the
    answer and the cost are in them."""
    workspace = _workspace(claude_stack)
    anthropic_fake.script([
        tool("Write", {"file_path": str(workspace / "app.py"), "content": "print('hi')\n"}),
        tool("Write", {"file_path": str(workspace / "notes.md"), "content": "# Notes 🥚\n"},
             when=has_tool_result),
        tool("Bash", {"command": "python3 app.py", "description": "run it"}, when=has_tool_result),
        say("It prints **hi**.", when=has_tool_result),
    ])  # fmt: skip
    claude_stack.send("write app.py and notes.md, then run app.py")
    claude_stack.wait_for("🔐", timeout=60)
    claude_stack.tap("Allow")
    claude_stack.wait_for("✅ Done", timeout=60)
    wait_until(lambda: any("notes.md" in m.body for m in claude_stack.received()), timeout=30)
    received = claude_stack.received()
    text = "\n".join(m.body for m in received)
    assert len(received) <= 5, [m.body for m in received]
    assert "It prints *hi*." in text and re.search(r"\$\d+\.\d{4}", text)
    assert "app.py" in text and "notes.md" in text
    answer = next(m.body for m in received if m.body.startswith("It prints"))
    assert "📝" in answer and "✅ Done" in answer  # answer, changes and cost: one message


def test_a_tap_answers_only_its_own_approval(
    claude_stack: Stack, anthropic_fake: AnthropicFake
) -> None:
    """A tap on an old, answered approval reaches neither Claude nor a run: one short line."""
    anthropic_fake.script(_bash("touch one.txt", "One ran."))
    claude_stack.send("touch one")
    claude_stack.wait_for("🔐", timeout=60)
    first = claude_stack.received()[-1]
    claude_stack.tap("Allow")
    claude_stack.wait_for("One ran.", timeout=60)
    anthropic_fake.script(_bash("touch two.txt", "Two ran."))
    claude_stack.send("touch two")
    wait_until(lambda: sum("🔐" in b for b in claude_stack.bodies()) == 2, timeout=60)
    requests = len(anthropic_fake.main_requests)
    claude_stack.tap_id(first.sid, first.buttons[0]["id"])  # the old message's Allow
    bodies = claude_stack.wait_for("That was already answered")
    assert re.search(r"That was already answered: allowed at \d\d:\d\d UTC\.", bodies[-1])
    assert len(anthropic_fake.main_requests) == requests
    assert not (_workspace(claude_stack) / "two.txt").exists()
    claude_stack.tap("Deny")
    claude_stack.wait_for("Two ran.", timeout=60)
    assert not (_workspace(claude_stack) / "two.txt").exists()


def test_without_the_content_api_the_approval_is_numbered_text(
    claude_stack: Stack, anthropic_fake: AnthropicFake
) -> None:
    """When creating the buttons fails, the approval goes as numbered text and 1 works."""
    _faults(claude_stack, content_fail_next=5)
    anthropic_fake.script(_bash("touch ok.txt", "Done it."))
    claude_stack.send("touch ok")
    claude_stack.wait_for("🔐", timeout=60)
    approval = claude_stack.received()[-1]
    assert APPROVAL_CHOICES in approval.body and approval.buttons == []
    claude_stack.send("1")
    claude_stack.wait_for("Done it.", timeout=60)
    assert (_workspace(claude_stack) / "ok.txt").exists()


def test_a_refused_typing_indicator_falls_back_to_on_it(
    claude_stack: Stack, anthropic_fake: AnthropicFake
) -> None:
    """Typing accepted: no "on it" text; refused: the text comes as before."""
    anthropic_fake.script([say("First.")])
    claude_stack.send("first")
    claude_stack.wait_for("First.", timeout=60)
    assert "👀 on it" not in claude_stack.bodies()
    _faults(claude_stack, typing_fail_next=1)
    anthropic_fake.script([say("Second.")])
    claude_stack.send("second")
    bodies = claude_stack.wait_for("Second.", timeout=60)
    assert bodies.count("👀 on it") == 1


def test_a_stale_yes_goes_to_claude_and_says_how_to_answer(
    claude_stack: Stack, anthropic_fake: AnthropicFake
) -> None:
    """Once something else was sent after an approval, a bare "yes" is a message for
    Claude, not an answer; the reply says how to answer; the tap still works."""
    anthropic_fake.script([*_bash("touch late.txt", "Late ran."), say("Noted.")])
    claude_stack.send("touch late")
    claude_stack.wait_for("🔐", timeout=60)
    claude_stack.send("/status")
    count = len(claude_stack.bodies())
    wait_until(lambda: len(claude_stack.bodies()) > count, timeout=30)
    claude_stack.send("yes")
    claude_stack.wait_for(STALE_APPROVAL)
    assert not (_workspace(claude_stack) / "late.txt").exists()
    claude_stack.tap("Allow")
    claude_stack.wait_for("Late ran.", timeout=60)
    assert (_workspace(claude_stack) / "late.txt").exists()


def test_a_question_with_three_options_is_answered_by_a_tap(
    claude_stack: Stack, anthropic_fake: AnthropicFake
) -> None:
    """Claude's ask_user with three options shows three buttons; a tap is the answer."""
    ask = {"question": "Which database?", "options": ["PostgreSQL", "SQLite", "DuckDB"]}
    anthropic_fake.script([
        tool("mcp__phone__ask_user", ask),
        say("Going with SQLite.", when=has_tool_result),
    ])  # fmt: skip
    claude_stack.send("pick a database with me")
    claude_stack.wait_for("Which database?", timeout=60)
    question = claude_stack.received()[-1]
    assert [b["title"] for b in question.buttons] == ["PostgreSQL", "SQLite", "DuckDB"]
    claude_stack.tap("SQLite")
    claude_stack.wait_for("Going with SQLite.", timeout=60)
    assert "SQLite" in str(anthropic_fake.main_requests[-1])

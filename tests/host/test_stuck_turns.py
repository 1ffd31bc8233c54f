"""Stuck turns through the real Claude Code CLI, at the host's own API."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.fakes.anthropic import AnthropicFake, has_tool_result, say, tool
from tests.requirements import require_claude_cli

pytestmark = pytest.mark.claude


async def test_edits_refused_as_invalid_count_and_the_next_tool_call_waits_for_the_answer(
    start_host: Any, anthropic_fake: AnthropicFake
) -> None:
    """Three Edits whose text is not in the file (refused before any hook) make the next
    tool call ask; *continue* lets that call run and the turn finish."""
    require_claude_cli()
    host = await start_host()
    target = host.workspace / "app.py"
    target.write_text("print('hello')\n")
    edit = {"file_path": str(target), "old_string": "no such text", "new_string": "x"}
    read = {"file_path": str(target)}
    anthropic_fake.script(
        [
            tool("Read", read),
            *[tool("Edit", edit, when=has_tool_result)] * 3,
            tool("Read", read, when=has_tool_result),
            say("I give up on that edit.", when=has_tool_result),
        ]
    )
    events = host.reader()
    await host.turn("t1", "rename the greeting")
    asked = await events.wait_type("question", "t1")
    assert asked["question"] == "Agent may be stuck (3 failed attempts at `Edit app.py`)."
    await asyncio.sleep(0.5)
    assert len(anthropic_fake.pending) == 1  # held: the Read has not run, Claude not asked
    answer = await host.client.post(
        f"/questions/{asked['question_id']}", json={"answer": "continue"}
    )
    assert answer.status_code == 200
    result = await events.finished("t1")
    assert result["type"] == "result" and result["interrupted"] is False
    assert [e["text"] for e in events.of("notice", "t1")] == ["▶️ Continuing."]
    assert events.of("text", "t1")[-1]["text"] == "I give up on that edit."
    assert target.read_text() == "print('hello')\n"

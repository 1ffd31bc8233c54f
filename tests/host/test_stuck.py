"""The stuck-watch on its own: hook inputs as Claude Code sends them, the real wait broker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from claude_agent_sdk import AssistantMessage, ToolResultBlock, ToolUseBlock, UserMessage

from cockpit.core.thrashing import Limits
from cockpit.host.db import HostDB
from cockpit.host.events import EventLog
from cockpit.host.stuck import StuckWatch, step_of
from cockpit.host.waits import Waits

LIMITS = Limits(failures=3, flips=2, idle_steps=0, budget_usd=1.0, budget_minutes=10.0)


def failed(command: str, error: str = "Exit code 1") -> dict[str, Any]:
    """A PostToolUseFailure hook input for a Bash command, as the CLI sends it."""
    return {"hook_event_name": "PostToolUseFailure", "tool_name": "Bash",
            "tool_input": {"command": command, "description": "x"}, "tool_use_id": "toolu_1",
            "error": error, "is_interrupt": False}  # fmt: skip


def read(path: str = "/w/a.py") -> dict[str, Any]:
    """A PostToolUse hook input for a Read."""
    return {"hook_event_name": "PostToolUse", "tool_name": "Read",
            "tool_input": {"file_path": path}, "tool_response": {"type": "text"},
            "tool_use_id": "toolu_2"}  # fmt: skip


@dataclass
class Rig:
    """A watch on a real host database, event log and wait broker, with a hand-set clock."""

    db: HostDB
    events: EventLog
    waits: Waits
    watch: StuckWatch
    now: list[float] = field(default_factory=lambda: [0.0])
    stops: list[str] = field(default_factory=list)

    def of(self, type_: str) -> list[dict[str, Any]]:
        return [e.as_dict() for e in self.db.events_after(0) if e.type == type_]

    async def asked(self) -> dict[str, Any]:
        """The stuck question, once the watch has asked it."""
        for _ in range(200):
            if questions := self.of("question"):
                return questions[-1]
            await asyncio.sleep(0.01)
        raise AssertionError("no question was asked")


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    db = HostDB(tmp_path / "host.db")
    events = EventLog(db)
    now = [0.0]
    waits = Waits(db, events, timeout_seconds=0.6, clock=lambda: now[0])
    stops: list[str] = []

    async def stop() -> None:
        stops.append("interrupt")

    watch = StuckWatch(LIMITS, waits, events, "t1", "main", stop=stop, clock=lambda: now[0])
    yield Rig(db, events, waits, watch, now, stops)
    db.close()


async def test_continue_lets_the_turn_go_on_and_starts_a_new_window(rig: Rig) -> None:
    """*continue* answers the hook with nothing to stop, says so, and resets the counts."""
    for _ in range(2):
        assert await rig.watch.hook(failed("npm test"), "toolu_1", {}) == {}
    held = asyncio.create_task(rig.watch.hook(failed("npm test"), "toolu_1", {}))
    question = await rig.asked()
    assert question["question"] == "Agent may be stuck (3 failed attempts at `npm test`)."
    assert not held.done()  # Claude Code waits for the hook: the turn is paused
    rig.waits.answer_question(question["question_id"], "continue")
    assert await held == {}
    assert [m["text"] for m in rig.of("notice")] == ["▶️ Continuing."]
    assert await rig.watch.hook(failed("npm test"), "toolu_1", {}) == {}  # counting anew
    assert rig.stops == [] and rig.watch.decision is None


async def test_words_of_the_user_reach_claude_with_the_turn_going_on(rig: Rig) -> None:
    """A reply that is not one of the three words goes on, and Claude reads it."""
    await rig.watch.hook(failed("make"), None, {})
    await rig.watch.hook(failed("make"), None, {})
    held = asyncio.create_task(rig.watch.hook(failed("make"), None, {}))
    rig.waits.answer_question((await rig.asked())["question_id"], "the DB is down, skip it")
    context = (await held)["hookSpecificOutput"]
    assert context["hookEventName"] == "PostToolUseFailure"
    assert context["additionalContext"] == "The user says: the DB is down, skip it"


async def test_the_cost_budget_asks_once_the_estimate_passes_it(rig: Rig) -> None:
    """Claude's token usage past $1 makes the next tool call ask; stop interrupts the turn."""
    usage = {"input_tokens": 400_000, "output_tokens": 1000}  # Sonnet: $1.215
    rig.watch.take(AssistantMessage([], "claude-sonnet-4-5", usage=usage, message_id="m1"))
    rig.watch.take(AssistantMessage([], "claude-sonnet-4-5", usage=usage, message_id="m1"))
    assert rig.watch.cost_usd == pytest.approx(1.215)  # one model call, counted once
    held = asyncio.create_task(rig.watch.hook(read(), None, {}))
    question = await rig.asked()
    assert question["question"] == ("Agent may be stuck ($1.22 spent on this task, over its $1).")
    rig.waits.answer_question(question["question_id"], "stop")
    assert (await held)["continue_"] is False
    assert rig.stops == ["interrupt"] and rig.watch.decision == "stop"
    assert [m["text"] for m in rig.of("notice")] == [
        "⏹ Stopped ($1.22 spent on this task, over its $1). Your changes are kept."
    ]


async def test_the_minutes_budget_leaves_out_time_spent_waiting_for_the_phone(rig: Rig) -> None:
    """Eleven minutes, five of them waiting for an answer, stay inside a 10-minute budget."""
    approval = asyncio.create_task(rig.waits.approval("t1", "main", "Bash", "Run it?", {}))
    await asyncio.sleep(0.01)
    rig.now[0] = 5 * 60  # the phone answers five minutes later
    rig.waits.resolve_approval(rig.of("approval_request")[0]["approval_id"], "allow", "")
    await approval
    rig.now[0] = 11 * 60
    assert await rig.watch.hook(read(), None, {}) == {}
    rig.now[0] = 16 * 60
    held = asyncio.create_task(rig.watch.hook(read(), None, {}))
    assert (await rig.asked())["question"] == (
        "Agent may be stuck (11 minutes on this task, over its 10)."
    )
    held.cancel()


async def test_no_answer_in_time_stops_the_turn_with_a_message(rig: Rig) -> None:
    """The question times out: the turn is stopped, the phone told, the prompt closed."""
    for _ in range(3):
        answer = await rig.watch.hook(failed("npm test"), None, {})
    assert answer["continue_"] is False and rig.stops == ["interrupt"]
    assert [m["text"] for m in rig.of("notice")] == [
        "⌛ No answer within 1 second, so I stopped this task (3 failed attempts at "
        "`npm test`). Your changes are kept."
    ]
    assert [e["by"] for e in rig.of("question_resolved")] == ["timeout"]


async def test_stopping_the_turn_from_outside_answers_the_open_question(rig: Rig) -> None:
    """/stop while the question is open ends the hook as *stop*, without a second message."""
    for _ in range(2):
        await rig.watch.hook(failed("npm test"), None, {})
    held = asyncio.create_task(rig.watch.hook(failed("npm test"), None, {}))
    await rig.asked()
    rig.watch.halt()
    assert (await held)["continue_"] is False
    assert rig.of("notice") == [] and rig.watch.decision == "stop"
    assert [e["by"] for e in rig.of("question_resolved")] == ["host"]


def test_edits_report_the_file_before_and_after() -> None:
    """An Edit's result gives the whole file before; the watch works out the file after."""
    step = step_of({"hook_event_name": "PostToolUse", "tool_name": "Edit",
                    "tool_input": {"file_path": "/w/a.py", "old_string": "A", "new_string": "B"},
                    "tool_response": {"filePath": "/w/a.py", "oldString": "A", "newString": "B",
                                      "originalFile": "A A", "replaceAll": False}})  # fmt: skip
    assert step is not None and (step.before, step.after) == ("A A", "B A")
    interrupted = failed("npm test") | {"is_interrupt": True}
    assert step_of(interrupted) is None  # a tool cut by a stop is not a failure


async def test_calls_refused_before_running_are_counted_from_the_stream(rig: Rig) -> None:
    """Invalid Edits reach no hook; the watch reads them and the next call's PreToolUse asks."""
    edit = {"file_path": "/w/app.py", "old_string": "nope", "new_string": "x"}
    refused = "<tool_use_error>String to replace not found in file.</tool_use_error>"
    for n in range(3):
        rig.watch.take(AssistantMessage([ToolUseBlock(f"e{n}", "Edit", edit)], "claude-sonnet-4-5"))
        rig.watch.take(UserMessage([ToolResultBlock(f"e{n}", refused, is_error=True)]))
    denied = UserMessage([ToolResultBlock("e0", "The user said no.", is_error=True)])
    rig.watch.take(denied)  # a denial is not a failure
    held = asyncio.create_task(
        rig.watch.before(read() | {"hook_event_name": "PreToolUse"}, None, {})
    )
    assert (await rig.asked())["question"] == (
        "Agent may be stuck (3 failed attempts at `Edit app.py`)."
    )
    rig.waits.answer_question((await rig.asked())["question_id"], "fresh")
    assert (await held)["continue_"] is False and rig.watch.decision == "fresh"
    assert "The failing command: `Edit app.py`\nIts last error:\n```\nString to replace not " in (
        rig.watch.summary("rename it")
    )

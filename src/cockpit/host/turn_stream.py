"""Turns Claude Code's messages during one turn into host events.

Each tool call becomes a `progress` event (sub-agents also get "agent k/n done"),
each top-level text block a `text` event; the final `ResultMessage` is kept for
the turn's closing `result` or `error` event.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from claude_agent_sdk import (
    AssistantMessage,
    Message,
    ResultMessage,
    SystemMessage,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
    UserMessage,
)

from cockpit.host import failures
from cockpit.host.events import EventLog
from cockpit.host.failures import Failure
from cockpit.host.progress import AGENT_TOOLS, describe, detail

SYNTHETIC_MODEL = "<synthetic>"


class TurnStream:
    """Consumes the messages of one turn, emitting events as they come."""

    def __init__(
        self,
        events: EventLog,
        turn_id: str,
        session: str,
        cwd: Path,
        earlier: list[ResultMessage] | None = None,
        *,
        spent_before: float = 0.0,
    ):
        self._events = events
        self._earlier = list(earlier or [])  # results of stuck sessions this turn replaced
        self._turn_id = turn_id
        self._session = session
        self._cwd = cwd
        self._agents: set[str] = set()
        self._agents_done = 0
        self.result: ResultMessage | None = None  # its cost is this turn's own
        # Claude Code's total_cost_usd counts from its process's start: a live client's
        # earlier turns (`spent_before`) are taken off; `spent_after` is the new total.
        self.spent_before = self.spent_after = spent_before
        self.claude_session_id: str | None = None
        self.api_error_text: str | None = None
        self.last_activity: float | None = None  # when Claude Code last said anything
        self._open_tools: set[str] = set()  # tool calls still running (or awaiting approval)

    def _emit(self, type_: str, **payload: object) -> None:
        self._events.emit(type_, self._turn_id, self._session, **payload)

    def take(self, message: Message) -> None:
        """Handle one message of Claude Code."""
        self.last_activity = time.monotonic()
        if isinstance(message, SystemMessage) and message.subtype == "init":
            self.claude_session_id = str(message.data.get("session_id") or "") or None
        elif isinstance(message, AssistantMessage):
            self._assistant(message)
        elif isinstance(message, UserMessage):
            self._tool_results(message)
        elif isinstance(message, ResultMessage):
            self.result = self._own_cost(message)
            self.claude_session_id = message.session_id or self.claude_session_id

    def _own_cost(self, message: ResultMessage) -> ResultMessage:
        if message.total_cost_usd is None:
            return message
        self.spent_after = message.total_cost_usd
        return replace(message, total_cost_usd=max(0.0, self.spent_after - self.spent_before))

    def _assistant(self, message: AssistantMessage) -> None:
        if message.error is not None or message.model == SYNTHETIC_MODEL:
            texts = [b.text for b in message.content if isinstance(b, TextBlock)]
            self.api_error_text = " ".join(texts) or message.error
            return
        for block in message.content:
            if isinstance(block, TextBlock) and block.text.strip():
                if message.parent_tool_use_id is None:
                    self._emit("text", text=block.text)
            elif isinstance(block, ToolUseBlock):
                self._tool_use(block)

    def _tool_use(self, block: ToolUseBlock) -> None:
        self._open_tools.add(block.id)
        if block.name in AGENT_TOOLS:
            self._agents.add(block.id)
        self._emit(
            "progress",
            text=describe(block.name, block.input, self._cwd),
            tool=block.name,
            detail=detail(block.name, block.input),
        )

    def _tool_results(self, message: UserMessage) -> None:
        if not isinstance(message.content, list):
            return
        for block in message.content:
            if isinstance(block, ToolResultBlock):
                self._open_tools.discard(block.tool_use_id)
            if isinstance(block, ToolResultBlock) and block.tool_use_id in self._agents:
                self._agents_done += 1
                text = f"🤖 agent {self._agents_done}/{len(self._agents)} done"
                self._emit("progress", text=text, tool="Task", detail="")

    def waiting_on_model(self) -> bool:
        """True while Claude Code waits for Anthropic (no tool of ours is running)."""
        return self.result is None and not self._open_tools

    def still_waiting(self, seconds: float) -> None:
        """Tell the phone the model has been silent for (at least) `seconds`."""
        self._emit("notice", text=slow_answer_text(seconds))

    def failure(self) -> Failure | None:
        """Why the turn failed according to its result, or None if it succeeded."""
        result = self.result
        if result is None:
            return failures.cli_crash("it ended without a result")
        if not result.is_error:
            return None
        if result.api_error_status is None and _not_logged_in(self.api_error_text or result.result):
            return failures.no_credentials()  # never Claude Code's own "Please run /login"
        if result.api_error_status is not None or self.api_error_text:
            return failures.from_api_status(
                result.api_error_status, self.api_error_text or result.result
            )
        reason = result.result or ", ".join(result.errors or []) or result.subtype
        return failures.from_api_status(None, reason)

    def result_payload(self, interrupted: bool) -> dict[str, object]:
        """The `result` event's payload."""
        result = self.result
        assert result is not None
        every = [*self._earlier, result]
        return {
            "num_turns": sum(r.num_turns for r in every),
            "duration_ms": sum(r.duration_ms for r in every),
            "total_cost_usd": sum(r.total_cost_usd or 0.0 for r in every),
            "claude_session_id": result.session_id,
            "is_error": result.is_error,
            "subtype": result.subtype,
            "interrupted": interrupted,
        }


def slow_answer_text(seconds: float) -> str:
    """What the phone is told while Anthropic is slow to answer."""
    span = f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"
    return (
        f"⏳ Claude's model has not answered for {span}: Anthropic is slow right now. "
        "I'm still waiting; reply *stop* to cancel."
    )


def _not_logged_in(text: str | None) -> bool:
    """Whether Claude Code's error says it has no credential at all."""
    return bool(text) and "not logged in" in str(text).lower()

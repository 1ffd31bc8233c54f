"""Catches a stuck turn: feeds `core.thrashing` from Claude Code's hooks and asks the phone.

Claude Code calls the PostToolUse / PostToolUseFailure hooks after every tool call
and waits for their answer, so a hook that asks the phone holds the turn right
there, spending nothing. Calls it refuses as invalid before running them reach no
hook; they are read from the message stream and asked about in the PreToolUse hook
of the next call, which also checks the budgets before each tool runs.

The answer decides: *continue* lets the turn go on (the detector starts a new
window), *stop* and *fresh* interrupt it (`fresh` then runs a new Claude session
with a summary, see `Runner`). No answer in time stops it.

Cost is estimated from the token usage of Claude's messages (`core.pricing`); time
is the turn's own, without the time spent waiting for the phone's answers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from claude_agent_sdk import (
    AssistantMessage,
    HookMatcher,
    Message,
    ToolResultBlock,
    ToolUseBlock,
    UserMessage,
)

from cockpit.config import Settings
from cockpit.core import pricing, thrashing
from cockpit.core.thrashing import Choice, Detector, Limits, Step, Verdict
from cockpit.host.events import EventLog
from cockpit.host.waits import Waits
from cockpit.log import get_logger

log = get_logger(__name__)

HOOK_GRACE_SECONDS = 120.0  # a hook may outlive the phone's answer timeout by this much
REFUSED = "<tool_use_error>"  # how Claude Code marks a call it refused before running it
Hook = Callable[[Any, str | None, Any], Awaitable[Any]]


def limits_of(settings: Settings) -> Limits:
    """The stuck rules of this host's settings (0 switches a rule off)."""
    return Limits(
        failures=settings.stuck_failures,
        flips=settings.stuck_flips,
        idle_steps=settings.stuck_idle_steps,
        budget_usd=settings.turn_budget_usd or None,
        budget_minutes=settings.turn_budget_minutes or None,
    )


def step_of(hook_input: Mapping[str, Any]) -> Step | None:
    """The finished tool call a PostToolUse / PostToolUseFailure hook reports."""
    event = hook_input.get("hook_event_name")
    name, args = str(hook_input.get("tool_name", "")), dict(hook_input.get("tool_input") or {})
    if event == "PostToolUseFailure":
        if hook_input.get("is_interrupt"):
            return None  # the turn is being stopped, not failing
        return Step(name, args, True, str(hook_input.get("error", "")))
    if event != "PostToolUse":
        return None
    response = hook_input.get("tool_response")
    file, before, after = _contents(name, args, response)
    return Step(name, args, False, _output(response), file, before, after)


def _text(content: Any) -> str:
    """A tool result's text (a string, or text blocks)."""
    if isinstance(content, list):
        return "\n".join(str(b.get("text", "")) for b in content if isinstance(b, Mapping))
    return str(content or "")


def _output(response: Any) -> str:
    if isinstance(response, Mapping):
        return str(response.get("stdout") or response.get("stderr") or "")[-600:]
    return str(response or "")[-600:]


def _contents(
    name: str, args: Mapping[str, Any], response: Any
) -> tuple[str | None, str | None, str | None]:
    """An edit's file and its content before and after, from Claude Code's tool result."""
    if name not in thrashing.EDIT_TOOLS or not isinstance(response, Mapping):
        return None, None, None
    file = str(response.get("filePath") or args.get("file_path") or "") or None
    before = response.get("originalFile")
    before = before if isinstance(before, str) else None
    if name == "Write" and isinstance(response.get("content"), str):
        return file, before, str(response["content"])
    old, new = response.get("oldString"), response.get("newString")
    if name == "Edit" and before is not None and isinstance(old, str) and isinstance(new, str):
        return file, before, before.replace(old, new, -1 if response.get("replaceAll") else 1)
    return file, None, None


class StuckWatch:
    """Watches one Claude session run of a turn; `hooks()` go into its options."""

    def __init__(
        self,
        limits: Limits,
        waits: Waits,
        events: EventLog,
        turn_id: str,
        session: str,
        *,
        stop: Callable[[], Awaitable[None]],
        clock: Callable[[], float] = time.monotonic,
    ):
        self.detector = Detector(limits)
        self.decision: Choice | None = None
        self.verdict: Verdict | None = None
        self._waits, self._events = waits, events
        self._turn_id, self._session = turn_id, session
        self._stop, self._clock = stop, clock
        self._started = clock()
        self._cost = 0.0
        self._priced: set[str] = set()
        self._lock = asyncio.Lock()
        self._asking = False
        self._calls: dict[str, tuple[str, dict[str, Any]]] = {}  # tool_use_id -> name, input
        self._hooked: set[str] = set()  # tool calls a PostToolUse* hook reported
        self._pending: Verdict | None = None  # found on the stream, asked at the next tool

    # --- what the turn has used so far ---
    def take(self, message: Message) -> None:
        """Count token usage (once per model call) and refused tool calls from the stream."""
        if isinstance(message, AssistantMessage):
            self._price(message)
            for block in message.content:
                if isinstance(block, ToolUseBlock):
                    self._calls[block.id] = (block.name, dict(block.input))
        elif isinstance(message, UserMessage) and isinstance(message.content, list):
            for block in message.content:
                if isinstance(block, ToolResultBlock) and block.is_error:
                    self._refused(block)

    def _price(self, message: AssistantMessage) -> None:
        key = message.message_id or str(id(message))
        if message.usage and key not in self._priced:
            self._priced.add(key)
            self._cost += pricing.estimate_usd(message.model, message.usage)

    def _refused(self, block: ToolResultBlock) -> None:
        """A call Claude Code refused as invalid (an Edit whose text is not in the file):
        no hook sees it, so it is counted here and asked about at the next tool call."""
        text = _text(block.content)
        call = self._calls.get(block.tool_use_id)
        if call is None or block.tool_use_id in self._hooked or not text.startswith(REFUSED):
            return
        step = Step(call[0], call[1], True, text.removeprefix(REFUSED).split("</")[0])
        verdict = self.detector.observe(step, elapsed_s=self.elapsed(), cost_usd=self._cost)
        self._pending = verdict or self._pending

    @property
    def cost_usd(self) -> float:
        """The estimated cost of this run so far."""
        return self._cost

    def elapsed(self) -> float:
        """Seconds this run has worked, without the waits for the phone."""
        return self._clock() - self._started - self._waits.waited(self._turn_id)

    # --- the hooks ---
    def hooks(self, answer_timeout: float) -> dict[Any, list[HookMatcher]]:
        """PostToolUse and PostToolUseFailure hooks, and PreToolUse for budgets, for every tool."""
        return hook_matchers(self.before, self.hook, answer_timeout)

    async def before(self, hook_input: Any, tool_use_id: str | None, context: Any) -> Any:
        """Before a tool runs: ask about a verdict found on the stream, or a spent budget."""
        async with self._lock:
            if self.decision is not None:
                return _halt()
            verdict = self._pending or self.detector.check(
                elapsed_s=self.elapsed(), cost_usd=self._cost
            )
            self._pending = None
            return await self._ask(verdict, "PreToolUse") if verdict else {}

    async def hook(self, hook_input: Any, tool_use_id: str | None, context: Any) -> Any:
        """Feed the finished tool call to the detector; ask the phone when it looks stuck."""
        step = step_of(hook_input)
        if step is None:
            return {}
        self._hooked.add(str(hook_input.get("tool_use_id", "")))
        async with self._lock:  # tool calls that ran side by side ask once
            if self.decision is not None:
                return _halt()
            verdict = self.detector.observe(step, elapsed_s=self.elapsed(), cost_usd=self._cost)
            if verdict is None:
                return {}
            return await self._ask(verdict, str(hook_input.get("hook_event_name")))

    def halt(self) -> None:
        """The turn is being stopped from outside: an open stuck question ends as *stop*."""
        if self._asking:
            self._waits.release(self._turn_id, "stop")

    async def _ask(self, verdict: Verdict, event: str) -> Any:
        log.info("host.stuck", turn_id=self._turn_id, kind=verdict.kind, reason=verdict.reason)
        self.verdict = verdict
        self._asking = True
        try:
            answer = await self._waits.question(
                self._turn_id,
                self._session,
                thrashing.question(verdict),
                list(thrashing.OPTIONS),
                hint=thrashing.HINT,
            )
        finally:
            self._asking = False
        picked = thrashing.choice(answer.value) if answer.by != "timeout" else "stop"
        if picked is None and answer.by == "user" and answer.value.strip():
            return self._go_on(event, f"The user says: {answer.value.strip()}")
        if picked == "continue":
            return self._go_on(event, None)
        self.decision = picked or "stop"
        self._say_stop(verdict, answer.by, answer.reason)
        await self._stop()
        return _halt()

    def _go_on(self, event: str, context: str | None) -> Any:
        self.detector.reset(elapsed_s=self.elapsed(), cost_usd=self._cost)
        self._events.emit("notice", self._turn_id, self._session, text="▶️ Continuing.")
        if context is None:
            return {}
        return {"hookSpecificOutput": {"hookEventName": event, "additionalContext": context}}

    def _say_stop(self, verdict: Verdict, by: str, reason: str) -> None:
        if self.decision == "fresh":
            text = "🔄 Starting a fresh Claude session with a summary of what was tried."
        elif by == "timeout":
            text = f"⌛ {reason}, so I stopped this task ({verdict.reason}). Your changes are kept."
        elif by == "user":
            text = f"⏹ Stopped ({verdict.reason}). Your changes are kept."
        else:
            return  # stopped from outside (/stop): its own messages say so
        self._events.emit("notice", self._turn_id, self._session, text=text)

    def summary(self, asked: str) -> str:
        """The first prompt of the fresh session."""
        return self.detector.summary(asked, self.verdict)


def hook_matchers(before: Hook, after: Hook, answer_timeout: float) -> dict[Any, list[HookMatcher]]:
    """`before` as the PreToolUse hook and `after` as both PostToolUse hooks, of every tool."""
    timeout = answer_timeout + HOOK_GRACE_SECONDS
    post = HookMatcher(matcher=None, hooks=[after], timeout=timeout)
    pre = HookMatcher(matcher=None, hooks=[before], timeout=timeout)
    return {"PostToolUse": [post], "PostToolUseFailure": [post], "PreToolUse": [pre]}


def _halt() -> dict[str, Any]:
    """Tell Claude Code not to go on (the turn is also interrupted, see `Runner`)."""
    return {"continue_": False, "stopReason": "Stopped: the agent looked stuck."}

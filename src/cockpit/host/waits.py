"""Approvals and questions that wait for an answer from the phone.

A wait is stored in the database and announced as an event, then awaited in
memory; `POST /approvals/{id}` or `POST /questions/{id}` resolves it. An
unanswered wait resolves itself after `COCKPIT_APPROVAL_TIMEOUT_SECONDS`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from cockpit.host.db import HostDB, Wait
from cockpit.host.events import EventLog

Decision = Literal["allow", "allow_session", "deny"]
DECISIONS: tuple[Decision, ...] = ("allow", "allow_session", "deny")


class UnknownWait(LookupError):
    """No approval or question has this id."""


class AlreadyResolved(RuntimeError):
    """The approval or question was answered (or timed out) before."""


@dataclass(frozen=True)
class Answer:
    """How a wait was resolved: the decision or answer text, by whom, and why."""

    value: str
    by: Literal["user", "timeout", "host"]
    reason: str = ""


def timeout_text(seconds: float) -> str:
    """'No answer within 30 minutes' for `seconds`."""
    minutes = round(seconds / 60)
    if minutes >= 1:
        return f"No answer within {minutes} minute{'s' if minutes != 1 else ''}"
    whole = round(seconds)
    return f"No answer within {whole} second{'s' if whole != 1 else ''}"


class Waits:
    """The broker between Claude's waiting tool calls and the phone's answers."""

    def __init__(
        self,
        db: HostDB,
        events: EventLog,
        timeout_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._db = db
        self._clock = clock
        self._events = events
        self._timeout = timeout_seconds
        self._futures: dict[str, asyncio.Future[Answer]] = {}
        self._owner: dict[str, str] = {}  # wait id -> turn id, while it waits
        self._waited: defaultdict[str, float] = defaultdict(float)  # turn id -> seconds

    def waited(self, turn_id: str) -> float:
        """Seconds the turn has spent waiting for the phone (approvals and questions)."""
        return self._waited.get(turn_id, 0.0)

    def forget(self, turn_id: str) -> None:
        """Drop the turn's waiting time (the turn is over)."""
        self._waited.pop(turn_id, None)

    def expire_stale(self) -> None:
        """Resolve waits left pending by a previous host process (their turn is gone)."""
        for wait_id in self._db.pending_waits():
            self._db.resolve_wait(wait_id, "deny", "host")

    async def approval(
        self, turn_id: str, session: str, tool: str, summary: str, args: dict[str, Any]
    ) -> Answer:
        """Ask the phone to approve `tool`; wait for the decision (deny on timeout)."""
        wait = Wait(
            f"ap_{uuid.uuid4().hex[:12]}",
            "approval",
            turn_id,
            session,
            tool,
            {"summary": summary, "input": args},
            "pending",
            None,
            None,
        )
        self._db.insert_wait(wait)
        self._events.emit(
            "approval_request",
            turn_id,
            session,
            approval_id=wait.wait_id,
            tool=tool,
            summary=summary,
            input=args,
        )
        answer = await self._wait(wait.wait_id, "deny", turn_id)
        if answer.by == "timeout":
            self._events.emit(
                "approval_resolved",
                turn_id,
                session,
                approval_id=wait.wait_id,
                decision="deny",
                by="timeout",
            )
        return answer

    async def question(
        self,
        turn_id: str,
        session: str,
        question: str,
        options: list[str],
        hint: str | None = None,
    ) -> Answer:
        """Ask the phone `question`; wait for the answer (empty on timeout).

        `hint`, when given, tells the user how to answer instead of the numbered options.
        A question that ends without the user's answer is announced as `question_resolved`.
        """
        wait = Wait(
            f"q_{uuid.uuid4().hex[:12]}",
            "question",
            turn_id,
            session,
            question,
            {"options": options},
            "pending",
            None,
            None,
        )
        self._db.insert_wait(wait)
        extra = {"hint": hint} if hint else {}
        self._events.emit(
            "question",
            turn_id,
            session,
            question_id=wait.wait_id,
            question=question,
            options=options,
            **extra,
        )
        answer = Answer("", "host")
        try:
            answer = await self._wait(wait.wait_id, "", turn_id)
            return answer
        finally:
            if answer.by != "user":
                self._events.emit(
                    "question_resolved", turn_id, session, question_id=wait.wait_id, by=answer.by
                )

    def release(self, turn_id: str, value: str) -> int:
        """Answer the turn's pending waits on the host's behalf (the turn is being stopped)."""
        released = 0
        for wait_id, future in list(self._futures.items()):
            if self._owner.get(wait_id) != turn_id or future.done():
                continue
            if self._db.resolve_wait(wait_id, value, "host"):
                future.set_result(Answer(value, "host"))
                released += 1
        return released

    async def _wait(self, wait_id: str, default: str, turn_id: str) -> Answer:
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._futures[wait_id] = future
        self._owner[wait_id] = turn_id
        started = self._clock()
        try:
            return await asyncio.wait_for(asyncio.shield(future), self._timeout)
        except TimeoutError:
            reason = timeout_text(self._timeout)
            if self._db.resolve_wait(wait_id, default, "timeout"):
                return Answer(default, "timeout", reason)
            return future.result() if future.done() else Answer(default, "timeout", reason)
        finally:
            self._waited[turn_id] += self._clock() - started
            self._futures.pop(wait_id, None)
            self._owner.pop(wait_id, None)
            if not future.done():
                self._db.resolve_wait(wait_id, default, "host")

    def resolve_approval(self, approval_id: str, decision: Decision, reason: str) -> Wait:
        """Record the user's decision; emits approval_resolved and wakes the tool call."""
        wait = self._resolve(approval_id, "approval", decision, reason)
        if decision == "allow_session" and wait.session:
            self._db.allow_tool(wait.session, wait.subject)
        self._events.emit(
            "approval_resolved",
            wait.turn_id,
            wait.session,
            approval_id=approval_id,
            decision=decision,
            by="user",
        )
        return wait

    def answer_question(self, question_id: str, answer: str) -> Wait:
        """Record the user's answer to a question and wake the waiting tool."""
        return self._resolve(question_id, "question", answer, "")

    def _resolve(self, wait_id: str, kind: str, value: str, reason: str) -> Wait:
        wait = self._db.get_wait(wait_id, kind)
        if wait is None:
            raise UnknownWait(wait_id)
        if not self._db.resolve_wait(wait_id, value, "user"):
            raise AlreadyResolved(wait_id)
        future = self._futures.get(wait_id)
        if future is not None and not future.done():
            future.set_result(Answer(value, "user", reason))
        return wait

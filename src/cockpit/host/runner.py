"""Runs turns through Claude Code (claude-agent-sdk), one at a time per session.

Each cockpit session (e.g. "main") maps to one Claude Code session whose id is
kept in the host database. Its Claude Code process stays running between turns
(`clients.py`: one live client per session, recycled when idle, old or large); a
new process resumes the recorded id, also after a host restart.
Turns of one session run in order; a turn arriving while another runs waits in
that session's queue. Different sessions run at the same time, each in its own
folder (see `worktrees.py`). Every turn ends with exactly one `result` or `error`
event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claude_agent_sdk import (
    ClaudeSDKClient,
    ClaudeSDKError,
    ResultMessage,
)

from cockpit.host import failures
from cockpit.host.claude_options import client_options
from cockpit.host.clients import ClientPool, LiveClient
from cockpit.host.db import Turn
from cockpit.host.failures import Failure
from cockpit.host.parts import HostParts
from cockpit.host.push import pending_changes
from cockpit.host.stuck import StuckWatch, limits_of
from cockpit.host.turn_reading import build_prompt, consume, first_line, quietly_interrupt
from cockpit.host.turn_stream import TurnStream
from cockpit.host.workspace import git_info
from cockpit.host.worktrees import BadSessionName, WorktreeError
from cockpit.log import get_logger

log = get_logger(__name__)

INTERRUPT_GRACE_SECONDS = 3.0


class UnknownTurn(LookupError):
    """No turn has this id."""


@dataclass
class _Running:
    turn_id: str
    client: ClaudeSDKClient | None = None
    watch: StuckWatch | None = None
    interrupted: bool = False
    kill: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)


class Runner:
    """Session queues and the Claude Code runs of their turns."""

    def __init__(self, parts: HostParts):
        self._p = parts
        self._queues: dict[str, deque[str]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._running: dict[str, _Running] = {}
        self.clients = ClientPool(parts.settings, lambda live: client_options(parts, live))

    # --- queueing ---
    def cwd(self, session: str) -> Path:
        """The folder a session works in: the workspace for "main", else its worktree."""
        return self._p.folders.folder(session)

    def submit(self, turn_id: str, session: str) -> int:
        """Queue a stored turn; returns how many turns of its session are ahead of it."""
        queue = self._queues.setdefault(session, deque())
        queue.append(turn_id)
        if session not in self._workers:
            self._workers[session] = asyncio.create_task(self._work(session))
        return self.position(turn_id, session)

    async def warm(self, session: str) -> bool:
        """Make the session's folder and start its Claude Code now (the user just made or
        switched to it), so that its first message finds the process running. False when
        nothing was started: a turn of it runs or waits, or the pool would not take one."""
        if session in self._running or self._queues.get(session):
            return False
        cwd = await asyncio.to_thread(self._p.folders.ensure, session)
        resume = self._p.db.claude_session_id(session)
        return self.clients.prestart(session, cwd, resume)

    def position(self, turn_id: str, session: str) -> int:
        """Turns ahead of `turn_id` in its session (0: it runs now or next)."""
        queue = list(self._queues.get(session, ()))
        ahead = queue.index(turn_id) if turn_id in queue else 0
        return ahead + (1 if session in self._running else 0)

    def ahead(self, session: str) -> int:
        """How many turns of `session` a turn arriving now would wait for."""
        return len(self._queues.get(session, ())) + (1 if session in self._running else 0)

    def cancel_queued(self, session: str) -> int:
        """Drop every queued turn of `session`; returns how many."""
        queue = self._queues.get(session, deque())
        dropped = list(queue)
        queue.clear()
        for turn_id in dropped:
            self._finish(turn_id, session, "cancelled", failures.dropped())
        return len(dropped)

    async def _work(self, session: str) -> None:
        queue = self._queues[session]
        try:
            while queue:
                turn = self._p.db.get_turn(queue.popleft())
                if turn is not None and turn.state == "queued":
                    await self._run(turn)
        finally:
            self._workers.pop(session, None)

    # --- running ---
    async def _run(self, turn: Turn) -> None:
        running = _Running(turn.turn_id)
        self._running[turn.session] = running
        self._p.db.set_turn_state(turn.turn_id, "running")
        try:
            cwd = await asyncio.to_thread(self._p.folders.ensure, turn.session)
            prepared = await self._prepare(turn, running, cwd)
            if prepared is None:
                return
            turn = prepared
            resume = self._p.db.claude_session_id(turn.session)
            # The observers look at the folder while Claude Code starts (or is found running)
            # and the model thinks; the turn's tools wait for them (`Binding.ready`).
            before = asyncio.ensure_future(self._observe(turn, after=False))
            warming = asyncio.ensure_future(self.clients.acquire(turn.session, cwd, resume))
            try:
                stream = await self._drive(turn, running, cwd, resume, warming, before)
                await before
            finally:
                warming.cancel()  # only if a failure came before it was awaited
                before.cancel()
            if stream.failure() is None and not running.interrupted:
                await self._observe(turn, after=True)
            branch = await asyncio.to_thread(self._p.folders.branch, turn.session)
            changes = await asyncio.to_thread(pending_changes, cwd)
            self._conclude(turn, running, stream, branch, changes)
        except (BadSessionName, WorktreeError) as exc:
            log.warning("host.worktree_failed", turn_id=turn.turn_id, error=str(exc)[:300])
            failure = failures.internal(f"no folder for session {turn.session!r}: {exc}")
            self._finish(turn.turn_id, turn.session, "failed", failure)
        except ClaudeSDKError as exc:
            log.warning("host.turn_crashed", turn_id=turn.turn_id, error=str(exc)[:300])
            failure = (
                failures.interrupted()
                if running.interrupted
                else failures.cli_crash(first_line(exc))
            )
            self._finish(turn.turn_id, turn.session, "failed", failure)
        except Exception as exc:
            log.error("host.turn_failed", exc=True, turn_id=turn.turn_id)
            failure = failures.internal(type(exc).__name__)
            self._finish(turn.turn_id, turn.session, "failed", failure)
        finally:
            self._running.pop(turn.session, None)
            self._p.waits.forget(turn.turn_id)
            running.done.set()

    async def _prepare(self, turn: Turn, running: _Running, cwd: Path) -> Turn | None:
        """The turn as Claude gets it; None when it ended here (refused, or stopped)."""
        if self._p.preparer is None:
            return turn
        work = asyncio.ensure_future(self._p.preparer.prepare(turn, cwd))
        killer = asyncio.ensure_future(running.kill.wait())
        await asyncio.wait({work, killer}, return_when=asyncio.FIRST_COMPLETED)
        killer.cancel()
        if not work.done():  # stopped while a long note was being heard: stop waiting
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
        prepared = work.result() if work.done() and not work.cancelled() else None
        if isinstance(prepared, Failure):
            self._finish(turn.turn_id, turn.session, "failed", prepared)
            return None
        if prepared is None or running.interrupted:  # /stop while the note was being heard
            self._finish(turn.turn_id, turn.session, "interrupted", failures.interrupted())
            return None
        return prepared

    async def _observe(self, turn: Turn, *, after: bool) -> None:
        for observer in self._p.observers:
            try:
                await (observer.after_turn(turn) if after else observer.before_turn(turn))
            except Exception:  # an observer's bug must not fail the user's turn
                log.error("host.observer_failed", exc=True, turn_id=turn.turn_id)

    async def _drive(
        self,
        turn: Turn,
        running: _Running,
        cwd: Path,
        resume: str | None,
        warming: asyncio.Future[LiveClient],
        before: asyncio.Future[None],
    ) -> TurnStream:
        """Run the turn; when the user answers *fresh* to "may be stuck", run it again in
        a new Claude session whose first prompt summarises the stuck one."""
        prompt, earlier = build_prompt(turn), list[ResultMessage]()
        client: asyncio.Future[LiveClient] | None = warming
        while True:
            stream = TurnStream(self._p.events, turn.turn_id, turn.session, cwd, earlier)
            watch = self._watch(turn, running)
            live = await (client or self.clients.acquire(turn.session, cwd, resume))
            client = None
            await self._session_run(turn, running, live, stream, watch, prompt, before)
            if watch.decision != "fresh" or running.kill.is_set():
                return stream
            log.info("host.fresh_session", turn_id=turn.turn_id, session=turn.session)
            earlier = [*earlier, *([stream.result] if stream.result else [])]
            prompt, resume = watch.summary(turn.text), None
            running.interrupted = False

    async def _session_run(
        self,
        turn: Turn,
        running: _Running,
        live: LiveClient,
        stream: TurnStream,
        watch: StuckWatch,
        prompt: str,
        before: asyncio.Future[None],
    ) -> None:
        running.client = live.sdk
        live.binding.bind(turn.turn_id, watch, before)
        stream.spent_before = stream.spent_after = live.spent_usd
        try:
            if not running.kill.is_set():
                await live.sdk.query(prompt)
                await consume(live.sdk, stream, running, self._p.settings.slow_answer_seconds)
        finally:
            live.binding.unbind()
            live.spent_usd = stream.spent_after
            live.claude_session_id = stream.claude_session_id or live.claude_session_id
            clean = stream.result is not None and not running.kill.is_set()
            await self.clients.release(live, reusable=clean and watch.decision != "fresh")
        if stream.claude_session_id:
            self._p.db.set_claude_session_id(turn.session, stream.claude_session_id)

    def _watch(self, turn: Turn, running: _Running) -> StuckWatch:
        """A new stuck-watch for one Claude session run of `turn`."""

        async def stop() -> None:  # called from a hook, before it answers: nothing more runs
            if running.interrupted or running.client is None:
                return
            running.interrupted = True
            await quietly_interrupt(running.client)

        p = self._p
        running.watch = StuckWatch(
            limits_of(p.settings), p.waits, p.events, turn.turn_id, turn.session, stop=stop
        )
        return running.watch

    def _conclude(
        self,
        turn: Turn,
        running: _Running,
        stream: TurnStream,
        branch: str | None,
        changes: int = 0,
    ) -> None:
        failure = stream.failure()
        if running.interrupted:
            if stream.result is None:
                self._finish(turn.turn_id, turn.session, "interrupted", failures.interrupted())
                return
            failure = None
        if failure is not None:
            self._finish(turn.turn_id, turn.session, "failed", failure)
            return
        state = "interrupted" if running.interrupted else "done"
        self._p.db.set_turn_state(turn.turn_id, state)
        payload = stream.result_payload(running.interrupted)
        self._p.events.emit(
            "result", turn.turn_id, turn.session, **payload, branch=branch, changes=changes
        )

    def _finish(self, turn_id: str, session: str, state: str, failure: Failure) -> None:
        self._p.db.set_turn_state(turn_id, state, failure.kind, failure.message)
        self._p.events.emit("error", turn_id, session, **failure.payload())

    # --- control ---
    async def interrupt(self, turn_id: str) -> str:
        """Stop a running turn (or drop a queued one); returns the turn's state after."""
        turn = self._p.db.get_turn(turn_id)
        if turn is None:
            raise UnknownTurn(turn_id)
        if turn.state == "queued":
            with contextlib.suppress(ValueError):
                self._queues.get(turn.session, deque()).remove(turn_id)
            self._finish(turn_id, turn.session, "cancelled", failures.dropped())
            return "cancelled"
        running = self._running.get(turn.session)
        if running is None or running.turn_id != turn_id:
            return turn.state
        await self._stop(running)
        after = self._p.db.get_turn(turn_id)
        return after.state if after else "interrupted"

    async def _stop(self, running: _Running) -> None:
        running.interrupted = True
        if running.watch is not None:
            running.watch.halt()
        if running.client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(running.client.interrupt(), 1.5)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(running.done.wait(), INTERRUPT_GRACE_SECONDS)
            return
        log.warning("host.turn_killed", turn_id=running.turn_id)
        running.kill.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(running.done.wait(), 10)

    def recover(self) -> int:
        """After a restart: fail turns that were running, queue again those that waited.

        Returns how many turns the restart cut (each tells the phone itself, with the
        last commit, so the relay need not say it again)."""
        self._p.waits.expire_stale()
        cut = self._p.db.turns_in_state("running")
        for turn in cut:
            self._finish(turn.turn_id, turn.session, "failed", self._restarted(turn.session))
        for turn in self._p.db.turns_in_state("queued"):
            self.submit(turn.turn_id, turn.session)
        return len(cut)

    def _restarted(self, session: str) -> Failure:
        """The failure of a turn cut by a restart, with its folder's last commit."""
        try:
            commit = git_info(self.cwd(session)).get("last_commit")
        except BadSessionName:
            commit = None
        if not isinstance(commit, dict):
            return failures.host_restarted()
        return failures.host_restarted(commit.get("sha"), commit.get("subject"))

    async def close(self) -> None:
        """Stop every running turn and worker (the host is shutting down)."""
        for session in list(self._queues):
            self._queues[session].clear()
        for running in list(self._running.values()):
            running.interrupted = True
            running.kill.set()
        workers = list(self._workers.values())
        if workers:
            await asyncio.wait(workers, timeout=15)
        for task in workers:
            task.cancel()
        await self.clients.close_all()

    def status(self) -> dict[str, Any]:
        """Busy or idle, the running turn, queue lengths and sessions (for /health)."""
        known = self._p.db.sessions()
        names = set(known) | set(self._queues) | set(self._running)
        sessions = {}
        for name in sorted(names | set(self._p.folders.sessions())):
            running = self._running.get(name)
            sessions[name] = {
                "running": running.turn_id if running else None,
                "queued": len(self._queues.get(name, ())),
                "claude_session_id": known.get(name),
                "claude_process": self.clients.status(name),
            }
        current = next(iter(self._running.values()), None)
        return {
            "state": "busy" if self._running else "idle",
            "current_turn": current.turn_id if current else None,
            "queued": sum(len(q) for q in self._queues.values()),
            "sessions": sessions,
        }

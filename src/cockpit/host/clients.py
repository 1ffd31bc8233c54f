"""One long-lived Claude Code process per active session, kept between messages.

A session's first turn connects a `ClaudeSDKClient` (one `claude` process, resuming
the session's recorded Claude session id if there is one); every later turn only
writes its prompt to that process (`query()`) and reads until the `ResultMessage`,
so no start-up is paid per message. See docs/decisions/0020-warm-claude-clients.md.

The client's callbacks (`can_use_tool`, the hooks, the phone tools) are given once, at
connect; they read the turn they work for from the client's `Binding`, which the runner
sets at the start of each turn and clears at its end.

A client is closed (and its process tree made sure to be gone) when:

- it is idle for `COCKPIT_CLIENT_IDLE_SECONDS` (0: after every turn);
- a new one is needed and `COCKPIT_MAX_LIVE_CLIENTS` are live: the least recently
  used idle one goes first;
- it has served `COCKPIT_CLIENT_MAX_TURNS` turns, or its process uses more than
  `COCKPIT_CLIENT_MAX_RSS_MB` after a turn (long-lived CLIs grow);
- its turn did not end cleanly with a result (killed, crashed), its process died, the
  session's Claude session changed (a *fresh* start after thrashing), or the host stops.

Closing is `disconnect()`; if that has not returned after `COCKPIT_CLIENT_CLOSE_SECONDS`
the process and its children are killed (SIGKILL), and any child left behind by a
normal exit is killed too, so no `claude` (or tool) process outlives its client.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claude_agent_sdk import ClaudeAgentOptions, ClaudeSDKClient, HookMatcher

from cockpit.config import Settings
from cockpit.host import procs
from cockpit.host.phone_tools import PhoneContext
from cockpit.host.stuck import StuckWatch, hook_matchers
from cockpit.log import get_logger

log = get_logger(__name__)


@dataclass
class Binding:
    """The turn a live client works for right now (None between turns)."""

    turn_id: str | None = None
    session: str = ""
    watch: StuckWatch | None = None
    phone: PhoneContext | None = None  # the one context its phone tools were built with
    ready: asyncio.Future[None] | None = None  # no tool of the turn runs before this is done

    def bind(
        self, turn_id: str, watch: StuckWatch, ready: asyncio.Future[None] | None = None
    ) -> None:
        """Route the client's callbacks to this turn; its tools wait for `ready` (the
        before-turn look at the folder, taken while the model thinks)."""
        self.turn_id, self.watch, self.ready = turn_id, watch, ready
        if self.phone is not None:
            self.phone.turn_id = turn_id

    def unbind(self) -> None:
        """The turn is over: approvals and hooks have no turn until the next one."""
        self.turn_id, self.watch, self.ready = None, None, None

    async def wait_ready(self) -> None:
        """Hold a tool call until the turn's before-turn work is done."""
        ready = self.ready
        if ready is not None and not ready.done():
            await asyncio.shield(ready)

    def hooks(self, answer_timeout: float) -> dict[Any, list[HookMatcher]]:
        """Hooks for the client's whole life, each handing over to the current turn's watch."""
        return hook_matchers(self._before, self._after, answer_timeout)

    async def _before(self, hook_input: Any, tool_use_id: str | None, context: Any) -> Any:
        await self.wait_ready()
        watch = self.watch
        return await watch.before(hook_input, tool_use_id, context) if watch else {}

    async def _after(self, hook_input: Any, tool_use_id: str | None, context: Any) -> Any:
        watch = self.watch
        return await watch.hook(hook_input, tool_use_id, context) if watch else {}


class LiveClient:
    """A connected `ClaudeSDKClient` of one session, with what its recycling needs."""

    def __init__(self, session: str, cwd: Path, resume: str | None):
        self.session, self.cwd = session, cwd
        self.claude_session_id = resume  # the Claude session its process runs
        self.binding = Binding(session=session)
        self.client: ClaudeSDKClient | None = None
        self.proc: procs.Proc | None = None
        self.turns = 0
        self.spent_usd = 0.0  # the CLI's running total_cost_usd (it counts per process)
        self.last_used = 0.0
        self.busy = False

    @property
    def sdk(self) -> ClaudeSDKClient:
        """The connected SDK client."""
        assert self.client is not None
        return self.client

    async def connect(self, options: ClaudeAgentOptions) -> None:
        """Start the `claude` process (the SDK cleans up itself if that fails)."""
        self.client = ClaudeSDKClient(options=options)
        await self.client.connect()
        pid = _pid_of(self.client)
        self.proc = procs.proc(pid) if pid else None

    def fits(self, cwd: Path, resume: str | None) -> bool:
        """True if this client can run a turn in `cwd` continuing Claude session `resume`."""
        running = self.proc is None or procs.alive(self.proc)
        return running and self.cwd == cwd and self.claude_session_id == resume

    def rss_mb(self) -> float | None:
        """The `claude` process's resident memory in MiB."""
        return procs.rss_mb(self.proc.pid) if self.proc else None

    async def close(self, grace: float) -> None:
        """Disconnect; kill the process tree if that hangs; kill children left behind."""
        if self.client is None:
            return
        tree = procs.tree(self.proc.pid) if self.proc and procs.alive(self.proc) else []
        closing = asyncio.ensure_future(self.client.disconnect())
        done, _ = await asyncio.wait({closing}, timeout=grace)
        if not done:
            log.warning("host.client_killed", session=self.session, pid=_pid(self.proc))
            procs.kill(_with_new_children(tree))
            await asyncio.wait({closing}, timeout=grace)
        if closing.done() and not closing.cancelled() and closing.exception() is not None:
            log.warning("host.client_close_failed", error=str(closing.exception())[:300])
        left = procs.kill(tree)
        if left:
            log.warning("host.client_children_killed", session=self.session, count=left)
        if not closing.done():
            _STRAGGLERS.add(closing)
            closing.add_done_callback(_STRAGGLERS.discard)


_STRAGGLERS: set[asyncio.Future[None]] = set()  # disconnects still unwinding after a kill


def _pid(p: procs.Proc | None) -> int | None:
    return p.pid if p else None


def _with_new_children(tree: list[procs.Proc]) -> list[procs.Proc]:
    """`tree` plus processes its members started since it was read."""
    found = {p for root in tree[:1] for p in procs.tree(root.pid)} if tree else set()
    return [*tree, *(p for p in found if p not in tree)]


def _pid_of(client: ClaudeSDKClient) -> int | None:
    """The pid of the client's `claude` process (the SDK keeps it on its transport)."""
    process: Any = getattr(getattr(client, "_transport", None), "_process", None)
    pid = getattr(process, "pid", None)
    return pid if isinstance(pid, int) else None


OptionsFor = Callable[[LiveClient], ClaudeAgentOptions]


class ClientPool:
    """The host's live clients, one per session at most, and their recycling."""

    def __init__(
        self,
        settings: Settings,
        options_for: OptionsFor,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._s = settings
        self._options_for = options_for
        self._clock = clock
        self._live: dict[str, LiveClient] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self._starting: dict[str, asyncio.Task[LiveClient | None]] = {}

    def live(self, session: str) -> LiveClient | None:
        """The session's live client, if it has one."""
        return self._live.get(session)

    def __len__(self) -> int:
        return len(self._live)

    def prestart(self, session: str, cwd: Path, resume: str | None) -> bool:
        """Start the session's client now, in the background, so that its first turn finds
        Claude Code running (a session just made with /new, or a client just recycled).
        False when it has one, one is starting, clients are not kept, or every slot is busy."""
        if session in self._live or session in self._starting:
            return False
        if self._s.client_idle_seconds <= 0:
            return False  # clients close after every turn: a started one would be wasted
        taken = len(self._live) + len(self._starting)
        if taken >= max(1, self._s.max_live_clients) and all(c.busy for c in self._live.values()):
            return False  # never make a running turn's client go for a guess
        task = asyncio.create_task(self._start(session, cwd, resume, prestarted=True))
        self._starting[session] = task
        task.add_done_callback(lambda done: self._started(session, done))
        return True

    def _started(self, session: str, task: asyncio.Task[LiveClient | None]) -> None:
        if self._starting.get(session) is task:
            del self._starting[session]

    async def acquire(self, session: str, cwd: Path, resume: str | None) -> LiveClient:
        """The session's client for a turn in `cwd` continuing `resume`; connects if needed."""
        starting = self._starting.get(session)
        if starting is not None:  # a pre-start is under way: its process is the quickest
            await asyncio.shield(starting)
        live = self._live.get(session)
        if live is not None and not live.fits(cwd, resume):
            self._close_soon(live, "session_changed" if live.proc else "exited")
            live = None
        if live is None:
            live = await self._start(session, cwd, resume)
            assert live is not None  # only a pre-start swallows a failure to connect
        live.busy = True
        self._start_reaper()
        return live

    async def _start(
        self, session: str, cwd: Path, resume: str | None, *, prestarted: bool = False
    ) -> LiveClient | None:
        await self._make_room()
        live = LiveClient(session, cwd, resume)
        started = self._clock()
        try:
            await live.connect(self._options_for(live))
        except asyncio.CancelledError:
            await live.close(self._s.client_close_seconds)  # a connect cut short: no process left
            raise
        except Exception as exc:
            if not prestarted:
                raise
            # The turn that comes will connect again and report a failure to the user.
            log.warning("host.client_prestart_failed", session=session, error=str(exc)[:300])
            return None
        live.last_used = self._clock()
        self._live[session] = live
        log.info("host.client_started", session=session, pid=_pid(live.proc),
                 seconds=round(self._clock() - started, 3), resume=bool(resume),
                 prestarted=prestarted)  # fmt: skip
        self._start_reaper()
        return live

    async def release(self, live: LiveClient, *, reusable: bool) -> None:
        """A turn on `live` ended; keep it for the next one or close it."""
        live.busy, live.last_used = False, self._clock()
        live.turns += 1
        why = self._why_close(live, reusable)
        if why is not None:  # in the background: the turn's result need not wait for it
            self._close_soon(live, why)
        if why in ("turns", "memory"):  # recycled, not broken: the next turn finds a new one
            self.prestart(live.session, live.cwd, live.claude_session_id)

    def _why_close(self, live: LiveClient, reusable: bool) -> str | None:
        s = self._s
        if not reusable:
            return "turn_cut"
        if s.client_idle_seconds <= 0:
            return "idle"
        if s.client_max_turns and live.turns >= s.client_max_turns:
            return "turns"
        rss = live.rss_mb()
        if s.client_max_rss_mb and rss is not None and rss > s.client_max_rss_mb:
            return "memory"
        if len(self._live) > max(1, s.max_live_clients):  # went over while all were busy
            return "cap"
        return None

    async def _make_room(self) -> None:
        while len(self._live) >= max(1, self._s.max_live_clients):
            idle = [c for c in self._live.values() if not c.busy]
            if not idle:
                log.warning("host.clients_over_cap", live=len(self._live))
                return
            self._close_soon(min(idle, key=lambda c: c.last_used), "cap")

    async def reap(self) -> int:
        """Close the clients idle for COCKPIT_CLIENT_IDLE_SECONDS; returns how many."""
        limit, now = self._s.client_idle_seconds, self._clock()
        idle = [c for c in self._live.values() if not c.busy and now - c.last_used >= limit]
        for live in idle:
            await self._close(live, "idle")
        return len(idle)

    def _start_reaper(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.create_task(self._reap_forever())

    async def _reap_forever(self) -> None:
        period = max(0.05, min(self._s.client_idle_seconds / 4, 30.0))
        while self._live:
            await asyncio.sleep(period)
            try:
                await self.reap()
            except Exception:  # the reaper must outlive one bad close
                log.error("host.client_reap_failed", exc=True)

    async def _close(self, live: LiveClient, why: str) -> None:
        if self._live.get(live.session) is live:
            del self._live[live.session]
        log.info("host.client_closed", session=live.session, reason=why,
                 turns=live.turns, pid=_pid(live.proc))  # fmt: skip
        await live.close(self._s.client_close_seconds)

    def _close_soon(self, live: LiveClient, why: str) -> None:
        """Take `live` out of the pool now and close it in the background."""
        if self._live.get(live.session) is live:
            del self._live[live.session]
        task = asyncio.create_task(self._close(live, why))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close_all(self) -> None:
        """Close every client (the host is stopping)."""
        starting = set(self._starting.values())
        if starting:  # let them finish connecting; one that hangs is cut short and closed
            _, hanging = await asyncio.wait(starting, timeout=self._s.client_close_seconds)
            for task in hanging:
                task.cancel()
            await asyncio.gather(*hanging, return_exceptions=True)
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        live = list(self._live.values())
        await asyncio.gather(*(self._close(c, "host_stopping") for c in live))
        if self._closing:
            await asyncio.wait(set(self._closing))
        if _STRAGGLERS:
            await asyncio.wait(set(_STRAGGLERS), timeout=self._s.client_close_seconds)

    def status(self, session: str) -> dict[str, Any] | None:
        """The session's live client for /health: pid, turns served, idle seconds."""
        live = self._live.get(session)
        if live is None:
            return None
        idle = 0.0 if live.busy else round(self._clock() - live.last_used, 1)
        return {"pid": _pid(live.proc), "turns": live.turns, "idle_seconds": idle}

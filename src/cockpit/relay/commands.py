"""The relay's answers to commands (`core/commands.py` lists them): no Claude tokens spent.

Each answer registers itself with `@handles(name)`, for a command the registry defines, so
the registry of commands is also the registry of their handlers (tests check both ways).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from cockpit.core import board
from cockpit.core.commands import REGISTRY, help_text
from cockpit.core.delivery import in_words
from cockpit.log import get_logger
from cockpit.relay.hostclient import HostClient
from cockpit.relay.runtime import Relay
from cockpit.store import hosts, reports, sessions
from cockpit.store.hosts import TurnRecord

log = get_logger(__name__)
SESSION_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
RUNNING = ("running", "submitted", "queued")
Submit = Callable[[str, str, str], Awaitable[None]]  # (turn_id, session, text)
AUTO_VISUALS = {
    True: "🖼 Automatic visuals are on: after each change you get the diffs (and a screenshot).",
    False: "🙈 Automatic visuals are off. */diff* and */screenshot* still work; "
    "*/visuals on* turns them back on.",
}


@dataclass(frozen=True)
class CommandContext:
    """What a command needs: the relay, the user's host, who asked and in which session."""

    relay: Relay
    client: HostClient
    user_id: int
    phone: str
    session: str
    message_sid: str
    submit: Submit


Handler = Callable[[CommandContext, str], Awaitable[str]]  # (context, arguments) -> reply
HANDLERS: dict[str, Handler] = {}


def handles(name: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the answer to command `name`.

    `name` must be a command's own name in `core/commands.py` (not an alias), so no
    handler answers a command that /help does not list, and none is registered twice.
    """
    if name not in {c.name for c in REGISTRY}:
        raise LookupError(f"/{name} is not a command of core/commands.py")
    if name in HANDLERS:
        raise LookupError(f"/{name} already has a handler")

    def register(handler: Handler) -> Handler:
        HANDLERS[name] = handler
        return handler

    return register


async def run(ctx: CommandContext, name: str, args: str) -> str:
    """The reply to a relay command (empty when its results arrive by themselves)."""
    return await HANDLERS[name](ctx, args)


def _warm_soon(ctx: CommandContext, session: str) -> None:
    """Let the host start `session`'s Claude Code while the user types its first message;
    in the background, so the reply never waits for the host (a host that is down or
    starting is woken by that message instead)."""

    async def warm() -> None:
        try:
            await ctx.client.warm(session)
        except Exception as exc:
            log.info("relay.warm_skipped", session=session, error=str(exc)[:200])

    ctx.relay.jobs.spawn(f"warm-{ctx.user_id}-{session}", warm())


@handles("help")
async def _help(ctx: CommandContext, args: str) -> str:
    return help_text()


@handles("status")
async def _status(ctx: CommandContext, args: str) -> str:
    health = await ctx.client.health()
    rows = board.worded(await ctx.relay.store(sessions.latest_states, ctx.user_id))
    branches = {
        name: info.get("branch")
        for name, info in (health.get("sessions") or {}).items()
        if isinstance(info, dict)
    }
    rows = [(name, f"{state} · {branches[name]}" if branches.get(name) else state)
            for name, state in rows]  # fmt: skip
    lines = [board.board_text(rows)]
    current = next((r for r in await ctx.relay.store(sessions.listed, ctx.user_id)
                    if r.current), None)  # fmt: skip
    if current:
        lines.append(f"Current session: *{current.name}*")
    last = await ctx.relay.store(hosts.last_turn, ctx.user_id)
    if last and last.state in RUNNING:
        lines.append(
            f"Working for {_ago(last.created_at, ctx.relay.clock.now())} on “{_short(last.text)}”"
        )
    if health.get("queued"):
        lines.append(f"Queued messages: {health['queued']}")
    commit = health.get("last_commit") or {}
    branch = health.get("branch") or "?"
    head = f"{commit.get('sha', '—')} {commit.get('subject', '')}".rstrip()
    lines.append(f"Host {health.get('state', '?')} · branch {branch} · last commit {head}")
    dev = health.get("dev_server")
    if isinstance(dev, dict):
        lines.append("Dev server: " + ("✅ up" if dev.get("healthy") else "⚠️ not answering"))
    lines += await _delivery_lines(ctx)
    return "\n".join(lines)


async def _delivery_lines(ctx: CommandContext) -> list[str]:
    """Messages that could not be delivered: how many, and the latest reason in words."""
    failed = await ctx.relay.store(reports.failed_count, ctx.phone)
    if not failed:
        return []
    latest = await ctx.relay.store(reports.latest_failure, ctx.phone)
    reason = in_words(latest.error_code, latest.last_error) if latest else "unknown"
    return [f"⚠️ {failed} message(s) could not be delivered to you. Latest: {reason}."]


@handles("stop")
async def _stop(ctx: CommandContext, args: str) -> str:
    last = await ctx.relay.store(hosts.last_turn, ctx.user_id, ctx.session)
    if last is None or last.state not in RUNNING:
        return f"Nothing is running in *{ctx.session}*."
    await ctx.client.interrupt(last.id)
    return "⏹ Stopping…"


@handles("cancel")
async def _cancel(ctx: CommandContext, args: str) -> str:
    dropped = await ctx.client.cancel_queued(ctx.session)
    return f"Dropped {dropped} queued message{'s' * (dropped != 1)}."


@handles("retry")
async def _retry(ctx: CommandContext, args: str) -> str:
    if args:  # "resume <name>": continue in that session
        return await _switch(ctx, args)
    last = await ctx.relay.store(hosts.last_turn, ctx.user_id, ctx.session)
    if last is None or last.state not in ("failed", "interrupted"):
        return "There is nothing to retry: your last message did not fail."
    await ctx.submit(f"{ctx.message_sid}-retry", ctx.session, last.text)
    return ""


@handles("new")
async def _new(ctx: CommandContext, args: str) -> str:
    name = args.strip().lower().replace(" ", "-") if args.strip() else ""
    if not name:
        taken = {r.name for r in await ctx.relay.store(sessions.listed, ctx.user_id)}
        name = next(f"s{i}" for i in range(2, 1000) if f"s{i}" not in taken)
    if not SESSION_NAME.match(name):
        return "A session name is up to 32 letters, digits or dashes, e.g. */new auth-fix*."
    created = await ctx.relay.store(sessions.ensure, ctx.user_id, name)
    await ctx.relay.store(sessions.set_current, ctx.user_id, name)
    _warm_soon(ctx, name)
    if not created:
        return f"➡️ *{name}* already exists; it is now the current session."
    return (f"🆕 Started session *{name}*, with its own branch and a fresh Claude. "
            "Your other sessions keep their memory: */sessions* lists them.")  # fmt: skip


@handles("sessions")
async def _sessions(ctx: CommandContext, args: str) -> str:
    listed = await ctx.relay.store(sessions.listed, ctx.user_id)
    states = dict(board.worded(await ctx.relay.store(sessions.latest_states, ctx.user_id)))
    lines = [f"{'▶' if r.current else ' '} *{r.number}* {r.name} — {states.get(r.name, '')}"
             for r in listed]  # fmt: skip
    return "\n".join([*lines, "*/switch <number or name>* to change."])


@handles("switch")
async def _switch(ctx: CommandContext, args: str) -> str:
    listed = await ctx.relay.store(sessions.listed, ctx.user_id)
    wanted = args.strip().lower()
    match = next((r for r in listed if wanted in (str(r.number), r.name)), None)
    if match is None:
        names = ", ".join(f"{r.number} {r.name}" for r in listed)
        return f"No session “{args.strip()}”. You have: {names}."
    await ctx.relay.store(sessions.set_current, ctx.user_id, match.name)
    _warm_soon(ctx, match.name)
    return f"➡️ Now talking to *{match.name}*."


@handles("history")
async def _history(ctx: CommandContext, args: str) -> str:
    count = int(args) if args.strip().isdigit() else 5
    turns = (await ctx.relay.store(hosts.turns_of, ctx.user_id))[-count:]
    if not turns:
        return "No tasks yet."
    return "\n".join(_history_line(t, ctx.relay.clock.now()) for t in turns)


def _history_line(turn: TurnRecord, now: datetime) -> str:
    icon = {"done": "✅", "failed": "⚠️", "interrupted": "⏹", "cancelled": "🗑"}.get(turn.state, "⏳")
    cost = f" · ${turn.cost_usd:.4f}" if turn.cost_usd is not None else ""
    return f"{icon} [{turn.session}] “{_short(turn.text)}” · {_ago(turn.created_at, now)} ago{cost}"


@handles("cost")
async def _cost(ctx: CommandContext, args: str) -> str:
    summary = await ctx.relay.store(sessions.cost, ctx.user_id)
    lines = [f"💰 Today ${summary.today:.4f} · last 7 days ${summary.week:.4f}"]
    lines += [f"[{name}] ${spent:.4f}" for name, spent in sorted(summary.per_session.items())]
    return "\n".join(lines)


@handles("full")
async def _full(ctx: CommandContext, args: str) -> str:
    turn = await ctx.relay.store(hosts.last_answered_turn, ctx.user_id)
    if turn is None or not turn.answer:
        return "There is no answer to show yet."
    token = ctx.relay.signer.token(turn.id, purpose="full")
    return f"📄 The full answer: {ctx.relay.public_url}/full/{token}"


def _short(text: str, limit: int = 50) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _ago(moment: datetime, now: datetime) -> str:
    seconds = int((now - moment).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@handles("diff")
async def _diff(ctx: CommandContext, args: str) -> str:
    await ctx.client.visuals_diff(args.strip() or None, session=ctx.session)
    return ""  # the pictures arrive by themselves


@handles("screenshot")
async def _screenshot(ctx: CommandContext, args: str) -> str:
    await ctx.client.visuals_screenshot(args.strip() or None, session=ctx.session)
    return "📸 Taking a screenshot…"


@handles("visuals")
async def _visuals(ctx: CommandContext, args: str) -> str:
    enabled = args.strip().lower() not in ("off", "0", "no")
    await ctx.client.set_auto_visuals(enabled)
    return AUTO_VISUALS[enabled]


# The GitHub commands register themselves from their own module; importing it last, once
# `handles` exists, keeps one registry without an import cycle.
from cockpit.relay.github import commands as github_commands  # noqa: E402, F401

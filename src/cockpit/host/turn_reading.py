"""Reading one turn from a live Claude Code client: its messages until the result, the
phone told when the model stays silent, the prompt the user's message becomes."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from claude_agent_sdk import ClaudeSDKClient

from cockpit.host.db import Turn
from cockpit.host.stuck import StuckWatch
from cockpit.host.turn_stream import TurnStream
from cockpit.log import get_logger

log = get_logger(__name__)


class Reading(Protocol):
    """What reading a turn needs of the running turn: its kill switch and stuck watch."""

    kill: asyncio.Event
    watch: StuckWatch | None


async def consume(
    client: ClaudeSDKClient, stream: TurnStream, running: Reading, slow_after: float
) -> None:
    """Read the turn's messages until its result, or until the turn is killed."""

    async def read() -> None:
        async for message in client.receive_response():
            stream.take(message)
            if running.watch is not None:
                running.watch.take(message)

    reader = asyncio.ensure_future(read())
    killer = asyncio.ensure_future(running.kill.wait())
    watcher = asyncio.ensure_future(_tell_when_slow(stream, slow_after))
    try:
        await asyncio.wait({reader, killer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        killer.cancel()
        watcher.cancel()
        if not reader.done():
            reader.cancel()
        await asyncio.gather(reader, killer, watcher, return_exceptions=True)
    if not reader.cancelled() and reader.exception() is not None:
        raise reader.exception()  # type: ignore[misc]


async def _tell_when_slow(stream: TurnStream, limit: float) -> None:
    """Tell the phone when the model stays silent for `limit` s, then after 2×, 4×… as long.

    The clock starts at Claude Code's first message: its own start-up is not Anthropic's.
    """
    if limit <= 0:
        return
    seen, due = -1.0, limit
    while True:
        last = stream.last_activity
        if last is None:
            await asyncio.sleep(0.1)
            continue
        if last != seen:  # Claude Code said something: the silence starts again
            seen, due = last, limit
        quiet = time.monotonic() - last
        if quiet >= due:
            if stream.waiting_on_model():  # not a long Bash command or a pending approval
                stream.still_waiting(due)
            due *= 2
        await asyncio.sleep(max(0.1, due - quiet))


async def quietly_interrupt(client: ClaudeSDKClient) -> None:
    """Interrupt Claude Code; a failure is logged (the turn then ends by its own result)."""
    try:
        await asyncio.wait_for(client.interrupt(), 5)
    except Exception as exc:
        log.warning("host.interrupt_failed", error=str(exc)[:300])


def build_prompt(turn: Turn) -> str:
    """The user's message as Claude reads it: text, quoted reply and attachments."""
    parts = []
    if turn.reply_to:
        parts.append(f"(This replies to: {turn.reply_to})")
    parts.append(turn.text)
    if turn.media:
        lines = [f"- {m['path']} ({m['content_type']})" for m in turn.media]
        parts.append(
            "The user attached these files (open them with the Read tool):\n" + "\n".join(lines)
        )
    return "\n\n".join(parts)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

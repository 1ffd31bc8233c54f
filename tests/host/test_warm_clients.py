"""Warm turns: one Claude Code process per session kept between messages, and recycled.

Only processes this test started are looked at: the descendants of the test's own
process, read from /proc (other engineers' `claude` processes run on this machine).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.anthropic import AnthropicFake, conversation_text, has_tool_result, say, tool
from tests.requirements import require_claude_cli

pytestmark = pytest.mark.claude


@pytest.fixture(autouse=True)
def _claude() -> None:
    require_claude_cli()


def _children() -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if fields[0] != "Z":
            found.setdefault(int(fields[1]), []).append(int(entry.name))
    return found


def our_claude_processes() -> list[int]:
    """Live `claude` processes descended from this test process (no one else's)."""
    children, todo, mine = _children(), [os.getpid()], []
    while todo:
        for pid in children.get(todo.pop(), []):
            todo.append(pid)
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
            except OSError:
                continue
            if cmdline.endswith(b"claude"):
                mine.append(pid)
    return mine


def gone(pid: int) -> bool:
    """True once `pid` no longer runs (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rfind(")") + 2] == "Z"


async def until(pred: Any, within: float = 20.0) -> None:
    """Wait until `pred()` is true (failing after `within` seconds)."""
    deadline = time.monotonic() + within
    while not pred():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def process_of(host: Any, session: str = "main") -> dict[str, Any] | None:
    """The session's live Claude Code process as /health reports it."""
    health = (await host.client.get("/health")).json()
    live: dict[str, Any] | None = health["sessions"].get(session, {}).get("claude_process")
    return live


async def run_turn(host: Any, events: Any, turn_id: str, text: str, **extra: Any) -> Any:
    """Send a message and wait for its closing event."""
    await host.turn(turn_id, text, **extra)
    return await events.finished(turn_id)


async def test_later_turns_reuse_the_running_claude_process(
    start_host: Any, anthropic_fake: AnthropicFake
) -> None:
    """The second message goes to the same Claude Code process, with the conversation,
    and each turn's cost is its own (not the process's running total)."""
    host = await start_host()
    events = host.reader()
    anthropic_fake.script([say("Noted: PELICAN.")])
    first = await run_turn(host, events, "t1", "remember the code word PELICAN")
    live = await process_of(host)
    assert live is not None and live["turns"] == 1
    anthropic_fake.script([say("It was PELICAN.")])
    second = await run_turn(host, events, "t2", "what was the code word?")
    again = await process_of(host)
    assert again is not None and again["pid"] == live["pid"] and again["turns"] == 2
    assert our_claude_processes() == [live["pid"]]
    assert "remember the code word PELICAN" in conversation_text(anthropic_fake.main_requests[-1])
    assert second["claude_session_id"] == first["claude_session_id"]
    assert 0 < second["total_cost_usd"] < 1.5 * first["total_cost_usd"]


async def test_a_later_turn_gets_its_own_approvals_and_phone_tools(
    start_host: Any, anthropic_fake: AnthropicFake
) -> None:
    """On a kept process, the second turn's approval and phone message carry that turn."""
    host = await start_host()
    events = host.reader()
    anthropic_fake.script([say("hello")])
    await run_turn(host, events, "t1", "hi")
    anthropic_fake.script(
        [
            tool("mcp__phone__send_message", {"text": "on it"}),
            tool("Bash", {"command": "touch made.txt", "description": "x"}, when=has_tool_result),
            say("made it", when=has_tool_result),
        ]
    )
    await host.turn("t2", "make a file")
    request = await events.wait_type("approval_request", "t2")
    await host.approve(request["approval_id"], "allow")
    result = await events.finished("t2")
    assert result["type"] == "result" and (host.workspace / "made.txt").exists()
    assert "on it" in [m["text"] for m in events.of("message", "t2")]
    assert not events.of("approval_request", "t1") and not events.of("message", "t1")


async def test_each_session_has_its_own_process_and_the_cap_closes_the_oldest(
    start_host: Any, anthropic_fake: AnthropicFake
) -> None:
    """A second session starts its own Claude Code; over COCKPIT_MAX_LIVE_CLIENTS the least
    recently used one is closed, and its next message resumes its conversation."""
    host = await start_host(max_live_clients=2)
    events = host.reader()
    anthropic_fake.script([say("main noted GULL")])
    await run_turn(host, events, "t1", "remember GULL")
    anthropic_fake.script([say("s2 here")])
    await run_turn(host, events, "t2", "hello", session="s2")
    main, s2 = await process_of(host), await process_of(host, "s2")
    assert main and s2 and main["pid"] != s2["pid"]
    anthropic_fake.script([say("s3 here")])
    await run_turn(host, events, "t3", "hello", session="s3")
    await until(lambda: gone(main["pid"]))
    assert await process_of(host) is None and await process_of(host, "s2") is not None
    s3 = await process_of(host, "s3")
    assert s3 is not None and sorted(our_claude_processes()) == sorted([s2["pid"], s3["pid"]])
    anthropic_fake.script([say("it was GULL")])
    await run_turn(host, events, "t4", "which word?")
    assert "remember GULL" in conversation_text(anthropic_fake.main_requests[-1])


async def test_an_idle_process_is_closed_and_the_next_message_resumes(
    start_host: Any, anthropic_fake: AnthropicFake
) -> None:
    """After COCKPIT_CLIENT_IDLE_SECONDS without a message the process exits; the next
    message starts a new one that continues the same Claude session."""
    host = await start_host(client_idle_seconds=1.0)
    events = host.reader()
    anthropic_fake.script([say("Noted: HERON.")])
    await host.turn("t1", "remember HERON")
    await until(lambda: len(our_claude_processes()) == 1)  # its process, while it works
    (pid,) = our_claude_processes()
    first = await events.finished("t1")
    await until(lambda: gone(pid))
    assert await process_of(host) is None and our_claude_processes() == []
    anthropic_fake.script([say("HERON.")])
    second = await run_turn(host, events, "t2", "which word?")
    assert second["claude_session_id"] == first["claude_session_id"]
    assert "remember HERON" in conversation_text(anthropic_fake.main_requests[-1])


async def serving(host: Any, session: str = "main") -> dict[str, Any]:
    """The session's one live process once it is there (a recycled one is replaced)."""
    found: list[dict[str, Any]] = []

    async def look() -> bool:
        live = await process_of(host, session)
        if live is None or len(our_claude_processes()) != 1:
            return False
        found.append(live)
        return True

    deadline = time.monotonic() + 20
    while not await look():
        assert time.monotonic() < deadline, "no single live process in time"
        await asyncio.sleep(0.05)
    return found[-1]


@pytest.mark.parametrize(
    ("limit", "after"),
    [({"client_max_turns": 2}, [(0, 1), (1, 0), (1, 1)]),
     ({"client_max_rss_mb": 1.0}, [(0, 0), (1, 0), (2, 0)])],
)  # fmt: skip
async def test_a_process_is_recycled_after_its_turns_or_above_its_memory(
    start_host: Any, anthropic_fake: AnthropicFake, limit: dict[str, Any], after: list[Any]
) -> None:
    """A process that served COCKPIT_CLIENT_MAX_TURNS turns, or grew past
    COCKPIT_CLIENT_MAX_RSS_MB, is closed after its turn and a new one is started for the
    next message at once (never two at a time); the session goes on.

    `after[n]`: after turn n, (which new process is live, how many turns it served)."""
    host = await start_host(**limit)
    events = host.reader()
    pids: list[int] = []
    for n in range(3):
        anthropic_fake.script([say(f"answer {n}")])
        assert (await run_turn(host, events, f"t{n}", f"question {n} about KESTREL"))["type"]
        live = await serving(host)
        if live["pid"] not in pids:
            pids.append(live["pid"])
        assert (pids.index(live["pid"]), live["turns"]) == after[n]
    assert "question 0 about KESTREL" in conversation_text(anthropic_fake.main_requests[-1])


async def test_a_session_made_on_the_phone_has_its_process_before_its_first_message(
    start_host: Any, anthropic_fake: AnthropicFake
) -> None:
    """After /new (the relay's POST /sessions/NAME/warm) the session's folder is made and
    its Claude Code starts at once; the first message then runs on that process."""
    host = await start_host()
    events = host.reader()
    answer = await host.client.post("/sessions/kite/warm")
    assert answer.status_code == 202
    warmed = await serving(host, "kite")
    assert (
        warmed["turns"] == 0 and (host.settings.data_dir / "worktrees" / "kite" / ".git").exists()
    )
    anthropic_fake.script([say("kite here")])
    assert (await run_turn(host, events, "t1", "hello", session="kite"))["type"] == "result"
    after = await process_of(host, "kite")
    assert after is not None and after["pid"] == warmed["pid"] and after["turns"] == 1
    assert (await host.client.post("/sessions/kite/warm")).status_code == 202
    await asyncio.sleep(0.5)  # a second warm-up must not start a second process
    assert our_claude_processes() == [warmed["pid"]]
    assert (await host.client.post("/sessions/Bad Name!/warm")).status_code in (400, 404, 422)


async def test_a_warmed_process_nobody_uses_is_closed_when_idle(
    start_host: Any, anthropic_fake: AnthropicFake
) -> None:
    """A session made and never written to does not keep Claude Code running forever."""
    host = await start_host(client_idle_seconds=1.0)
    await host.client.post("/sessions/idle-one/warm")
    warmed = await serving(host, "idle-one")
    await until(lambda: gone(warmed["pid"]))
    assert await process_of(host, "idle-one") is None and our_claude_processes() == []


async def test_a_process_that_does_not_close_is_killed_with_its_children(
    start_host: Any, anthropic_fake: AnthropicFake
) -> None:
    """A Claude Code process that hangs (stopped) when closed is killed after
    COCKPIT_CLIENT_CLOSE_SECONDS, and no claude process is left behind."""
    host = await start_host(client_idle_seconds=3.0, client_close_seconds=0.5)
    events = host.reader()
    anthropic_fake.script([say("done")])
    await host.turn("t1", "hi")
    await until(lambda: len(our_claude_processes()) == 1)
    (pid,) = our_claude_processes()
    await events.finished("t1")
    os.kill(pid, signal.SIGSTOP)  # our own child: it will not exit on its own
    await until(lambda: gone(pid), within=15)
    assert our_claude_processes() == []
    anthropic_fake.script([say("still here")])
    assert (await run_turn(host, events, "t2", "hello again"))["type"] == "result"


async def test_stopping_the_host_leaves_no_claude_process(
    start_host: Any, anthropic_fake: AnthropicFake
) -> None:
    """When the host stops, every live Claude Code process of its sessions exits."""
    host = await start_host()
    events = host.reader()
    for n, session in enumerate(("main", "s2")):
        anthropic_fake.script([say("ok")])
        await run_turn(host, events, f"t{n}", "hi", session=session)
    assert len(our_claude_processes()) == 2
    await host.stop()
    await until(lambda: our_claude_processes() == [], within=15)

"""Memory of the host with warm Claude Code processes, for `bench turns` (issue 15).

Readings (VmRSS from /proc) of Ada's host process and of the `claude` processes it
runs (its descendants whose program is the bundled `claude`), taken 2 s after the
last turn so the processes are idle:

- 0 live clients: the host just started, before any turn;
- 1 live client: after the warm-up turn on "main";
- 5 live clients: after messages in 5 more sessions (the cap is 5: the least recently
  used one was closed);
- one client over many turns (`--memory-turns`, default 200) in a session of its
  own: the `claude` process's RSS after turn 1, then every 50 turns, and the growth.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.claude_stack import ADA_DIGITS, ClaudeStack, is_done
from cockpit.host import procs
from tests.fakes.anthropic import say

SETTLE_SECONDS = 2.0


@dataclass(frozen=True)
class Reading:
    """The host's RSS and its `claude` processes' (count, summed RSS), in MiB."""

    host_mib: float
    claude_count: int
    claude_mib: float


@dataclass
class Memory:
    """Readings by situation, and the long client's RSS by turn number."""

    situations: dict[str, Reading] = field(default_factory=dict)
    long_run: dict[int, float] = field(default_factory=dict)
    long_pids: set[int] = field(default_factory=set)


def host_pid(cs: ClaudeStack) -> int:
    """The pid of Ada's host process (from the local provisioner's pid file)."""
    data_dir = cs.stack.settings.data_dir / "hosts" / ADA_DIGITS
    return int(json.loads((data_dir / "host.pid").read_text())["pid"])


def _claude(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].endswith(b"claude")
    except OSError:
        return False


def read(cs: ClaudeStack, settle: float = SETTLE_SECONDS) -> Reading:
    """The host's memory now, after `settle` seconds of quiet."""
    time.sleep(settle)
    pid = host_pid(cs)
    claude = [p.pid for p in procs.tree(pid)[1:] if _claude(p.pid)]
    return Reading(
        procs.rss_mb(pid) or 0.0,
        len(claude),
        sum(procs.rss_mb(c) or 0.0 for c in claude),
    )


def claude_pids(cs: ClaudeStack) -> list[int]:
    """The host's live `claude` processes."""
    return [p.pid for p in procs.tree(host_pid(cs))[1:] if _claude(p.pid)]


def message(cs: ClaudeStack, text: str) -> None:
    """Send `text` and wait for the relay's ✅ Done (the stand-in answers one line)."""
    start = len(cs.stack.received())
    cs.fake.script([say("ok.")])
    cs.send(text)
    cs.wait_message(start, is_done)


def new_session(cs: ClaudeStack, name: str) -> None:
    """`/new NAME` from the phone, waiting for the relay's answer."""
    start = len(cs.stack.received())
    cs.send(f"/new {name}")
    cs.wait_message(start, lambda m: name in m.body)


def long_client(cs: ClaudeStack, turns: int, memory: Memory) -> None:
    """`turns` messages in a session of their own, the client's RSS every 50 turns."""
    before = set(claude_pids(cs))  # before /new: it starts the session's process at once
    new_session(cs, "bench-long")
    for number in range(1, turns + 1):
        message(cs, f"long question {number}")
        if number == 1 or number % 50 == 0 or number == turns:
            new = [p for p in claude_pids(cs) if p not in before]
            memory.long_pids.update(new)
            memory.long_run[number] = sum(procs.rss_mb(p) or 0.0 for p in new)


def report_lines(memory: Memory, turns: int) -> list[str]:
    """The memory part of the turns section."""
    lines = [
        "",
        "### Host memory with live Claude Code processes (MiB, RSS)",
        "",
        "| situation | host process | `claude` processes | their RSS (sum) | host + claude |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, r in memory.situations.items():
        total = r.host_mib + r.claude_mib
        lines.append(
            f"| {name} | {r.host_mib:.1f} | {r.claude_count} | {r.claude_mib:.1f} | {total:.1f} |"
        )
    if memory.long_run:
        first = memory.long_run[min(memory.long_run)]
        last = memory.long_run[max(memory.long_run)]
        by_turn = ", ".join(f"{n}: {v:.1f}" for n, v in sorted(memory.long_run.items()))
        lines += [
            "",
            f"- one client for {turns} turns ({len(memory.long_pids)} process(es) seen): "
            f"`claude` RSS by turn {by_turn}; growth turn 1 → {max(memory.long_run)}: "
            f"{last - first:+.1f} MiB ({(last - first) / first * 100 if first else 0:+.0f} %)",
        ]
    return lines

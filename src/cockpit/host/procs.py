"""What a Claude Code process and its children are, read from Linux's /proc.

A process is named by its pid *and* its start time (field 22 of /proc/PID/stat),
so a pid the kernel has since given to another process is never killed. Nothing
here needs psutil; on a system without /proc every reading is empty.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import NamedTuple

PROC = Path("/proc")


class Proc(NamedTuple):
    """One process: its pid and when it started (clock ticks since boot)."""

    pid: int
    started: int


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start time) of `pid`, or None if it is gone."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2 :].split()  # the name in (...) may hold spaces
    return fields[0], int(fields[1]), int(fields[19])


def proc(pid: int) -> Proc | None:
    """`pid` as a `Proc`, or None if no such process runs."""
    stat = _stat(pid)
    return Proc(pid, stat[2]) if stat else None


def alive(p: Proc) -> bool:
    """True while `p` runs (and is not a zombie): same pid, same start time."""
    stat = _stat(p.pid)
    return stat is not None and stat[2] == p.started and stat[0] != "Z"


def tree(pid: int) -> list[Proc]:
    """`pid` and all its descendants (children first found, then theirs)."""
    root = proc(pid)
    if root is None:
        return []
    children: dict[int, list[Proc]] = {}
    for entry in PROC.iterdir() if PROC.is_dir() else ():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            children.setdefault(stat[1], []).append(Proc(int(entry.name), stat[2]))
    found, todo = [root], [root]
    while todo:
        for child in children.get(todo.pop().pid, []):
            found.append(child)
            todo.append(child)
    return found


def rss_mb(pid: int) -> float | None:
    """The resident memory of `pid` in MiB (VmRSS), or None if unknown."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


def kill(procs: list[Proc]) -> int:
    """SIGKILL each of `procs` still running; returns how many were."""
    killed = 0
    for p in procs:
        if alive(p):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(p.pid, signal.SIGKILL)
                killed += 1
    return killed

"""RESULTS.md: one section per benchmark, each rewritten only by its own benchmark."""

from __future__ import annotations

import os
import platform
import re
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).parent / "RESULTS.md"
HEADER = (
    "# Benchmark results\n\n"
    "Written by `python -m bench` (see bench/README.md for what each figure means).\n"
    "Each benchmark rewrites only its own section.\n"
)


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"


def write_section(path: Path, name: str, markdown: str) -> None:
    """Put `markdown` as benchmark `name`'s section of `path`, keeping the other sections."""
    start, end = _markers(name)
    block = f"{start}\n{markdown.rstrip()}\n{end}"
    current = path.read_text() if path.exists() else HEADER
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _: block, current)
    else:
        updated = current.rstrip() + "\n\n" + block
    path.write_text(updated + "\n")


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as `uptime` shows them."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def memory_gib() -> float:
    """Total memory of the machine, in GiB."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def machine() -> str:
    """A markdown list describing the machine and the moment of the run."""
    return "\n".join(
        [
            f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
            f"- CPUs (nproc): {len(os.sched_getaffinity(0))}, memory: {memory_gib():.1f} GiB",
            f"- Python {platform.python_version()} on {platform.system()} {platform.release()}",
        ]
    )

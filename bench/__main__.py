"""The benchmark runner: `python -m bench` runs every benchmark but the soak,
`python -m bench NAME ...` one.

A new benchmark registers here: a function taking its own command-line options
(a list of strings) and returning an exit status, 0 when it ran cleanly.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bench import (
    images,
    memory,
    outbound,
    relays,
    soak,
    takeover,
    turns,
    visuals_bench,
    voice,
    webhook,
)

Benchmark = Callable[[list[str]], int]

BENCHMARKS: dict[str, Benchmark] = {
    "webhook": webhook.main,
    "turns": turns.main,
    "visuals": visuals_bench.main,
    "memory": memory.main,
    "outbound": outbound.main,
    "relays": relays.main,
    "soak": soak.main,
    "takeover": takeover.main,
    "voice": voice.main,
    "images": images.main,
}

# Too long (or needs `make images`) for `python -m bench` with no name: run by name.
ON_DEMAND = frozenset({"soak", "images", "takeover"})

USAGE = "usage: python -m bench [NAME [OPTIONS]]   (NAME: {names}; NAME --help for options)"


def main(argv: list[str]) -> int:
    """Run the benchmark named in `argv` with the options after it, or all with defaults."""
    if not argv:
        return max(run(argv) for name, run in BENCHMARKS.items() if name not in ON_DEMAND)
    name, options = argv[0], argv[1:]
    if name in BENCHMARKS:
        return BENCHMARKS[name](options)
    print(USAGE.format(names=", ".join(BENCHMARKS)), file=sys.stderr)
    return 0 if name in ("-h", "--help", "--list") else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

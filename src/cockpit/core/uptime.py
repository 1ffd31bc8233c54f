"""Uptime from recorded heartbeats: pure arithmetic, no I/O.

A relay records a heartbeat every `interval` seconds while it is healthy. Each beat
vouches for the relay from its moment until two intervals later (one late beat is
tolerated); time no beat vouches for is downtime. With several relays the beats are
merged, so the service counts as up while any relay is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

TOLERANCE = 2.0  # a beat covers this many of its intervals


@dataclass(frozen=True)
class Uptime:
    start: datetime
    end: datetime
    up_seconds: float
    outages: list[tuple[datetime, datetime]]

    @property
    def total_seconds(self) -> float:
        return max((self.end - self.start).total_seconds(), 0.0)

    @property
    def down_seconds(self) -> float:
        return self.total_seconds - self.up_seconds

    @property
    def ratio(self) -> float | None:
        """Share of the window the relay was up; None for an empty window."""
        total = self.total_seconds
        return self.up_seconds / total if total > 0 else None


def uptime(beats: Sequence[tuple[datetime, float]], start: datetime, end: datetime) -> Uptime:
    """Uptime over [start, end) from beats given as (moment, interval seconds)."""
    covered = _merged(
        (at, at + timedelta(seconds=TOLERANCE * interval)) for at, interval in sorted(beats)
    )
    up, outages, cursor = 0.0, [], start
    for lo, hi in covered:
        lo, hi = max(lo, start), min(hi, end)
        if hi <= lo:
            continue
        if lo > cursor:
            outages.append((cursor, lo))
        up += (hi - lo).total_seconds()
        cursor = max(cursor, hi)
    if cursor < end:
        outages.append((cursor, end))
    return Uptime(start, end, up, outages)


def _merged(spans: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged

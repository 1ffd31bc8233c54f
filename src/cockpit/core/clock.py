"""The one source of time: wall time for what is stored and compared across processes
(leases, expiries, WhatsApp's window), monotonic time for intervals inside one process.

Code is handed a `Clock` rather than reading `datetime.now()`, so a test moves time
forward (`ManualClock.advance`) instead of sleeping until a lease or a token runs out.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (the form every stored time takes)."""
    return datetime.now(UTC)


class Clock(Protocol):
    """Where time comes from."""

    def now(self) -> datetime:
        """The current wall time, aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary start, never going back: for measuring intervals."""
        ...


class SystemClock:
    """The machine's clocks."""

    def now(self) -> datetime:
        return utcnow()

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock a test moves forward instead of sleeping.

    Frozen by default: time passes only by `advance`. With `running=True` it follows the
    machine's clocks plus what was advanced, for a whole relay under test whose workers
    also need time to pass on their own (renewals, retries)."""

    def __init__(self, start: datetime | None = None, *, running: bool = False) -> None:
        self._start = start or utcnow()
        self._running = running
        self._mono_start = time.monotonic()
        self._offset = 0.0

    def advance(self, seconds: float) -> None:
        """Move both clocks `seconds` forward."""
        if seconds < 0:
            raise ValueError("time does not go back")
        self._offset += seconds

    def _elapsed(self) -> float:
        ran = time.monotonic() - self._mono_start if self._running else 0.0
        return ran + self._offset

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed())

    def monotonic(self) -> float:
        return self._mono_start + self._elapsed()

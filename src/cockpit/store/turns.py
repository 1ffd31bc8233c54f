"""Whose turn it is to write to SQLite, among this process's threads.

SQLite has one writer at a time, and its busy handler polls in sleeps of up to 100 ms,
which favours newcomers: this process's writers take turns here instead, woken on
release. A webhook waiting to store a message ("urgent": Twilio waits for its answer)
and background work (dispatch, sends, status callbacks) take turns alternately while
both wait, so a webhook waits behind at most one background write however many queue,
and background work is never starved by a stream of webhooks.
"""

from __future__ import annotations

import threading
import time


class WriteTurns:
    """A reentrant lock with two queues served alternately (urgent, background)."""

    def __init__(self) -> None:
        lock = threading.Lock()
        self._queues = {True: threading.Condition(lock), False: threading.Condition(lock)}
        self._lock = lock
        self._waiting = {True: 0, False: 0}
        self._owner: int | None = None
        self._depth = 0
        self._urgent_owner = False
        self._favour = True  # which queue the next free turn goes to when both wait

    def acquire(self, timeout: float, *, urgent: bool = False) -> bool:
        """Take the turn within `timeout` seconds (at once if this thread holds it)."""
        me = threading.get_ident()
        deadline = time.monotonic() + timeout
        with self._lock:
            if self._owner == me:
                self._depth += 1
                return True
            self._waiting[urgent] += 1
            try:
                while not self._free_for(urgent):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        self._waiting[urgent] -= 1
                        self._wake()  # it may have been this waiter's turn
                        return False
                    self._queues[urgent].wait(left)
            except BaseException:
                self._waiting[urgent] -= 1
                raise
            self._waiting[urgent] -= 1
            self._owner, self._depth, self._urgent_owner = me, 1, urgent
            return True

    def _free_for(self, urgent: bool) -> bool:
        return self._owner is None and (not self._waiting[not urgent] or self._favour == urgent)

    def release(self) -> None:
        """Give the turn up; the other queue goes next if anyone waits in it."""
        with self._lock:
            self._depth -= 1
            if self._depth:
                return
            self._owner = None
            self._favour = not self._urgent_owner
            self._wake()

    def _wake(self) -> None:
        if self._owner is not None:
            return
        for queue in (self._favour, not self._favour):
            if self._waiting[queue]:
                self._queues[queue].notify()
                return

"""A host whose relay is gone for good exits (COCKPIT_HOST_ORPHAN_SECONDS).

A relay killed with SIGKILL cannot stop the local hosts it started: they run in their
own sessions so that a restarted relay can adopt them (decision 0006). The relay keeps
an event stream open to each host it follows and calls it with the host's token; a
host that has seen neither for `seconds` has no relay any more and shuts down (its
Claude Code and Chromium with it). A relay that comes back in time adopts it instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from starlette.types import ASGIApp, Receive, Scope, Send

from cockpit.log import get_logger

log = get_logger(__name__)


class RelayWatch:
    """When the relay last called (with the token), and how many event streams are open."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._last = clock()
        self._streams = 0

    def touch(self) -> None:
        """The relay made an authenticated request just now."""
        self._last = self._clock()

    @contextmanager
    def streaming(self) -> Iterator[None]:
        """An event stream is open for the duration (the relay is following)."""
        self._streams += 1
        try:
            yield
        finally:
            self._streams -= 1
            self.touch()

    def orphaned(self) -> bool:
        """True when the watch is on and no relay was in touch for `seconds`."""
        if self.seconds <= 0 or self._streams:
            return False
        return self._clock() - self._last > self.seconds

    async def wait_orphaned(self) -> None:
        """Return once the host is orphaned (never, when the watch is off)."""
        if self.seconds <= 0:
            await asyncio.Event().wait()
        step = min(5.0, max(0.2, self.seconds / 10))
        while True:
            if self.orphaned():
                break
            left = self.seconds - (self._clock() - self._last)
            await asyncio.sleep(step if self._streams else max(step, left))
        log.warning("host.orphaned", seconds=self.seconds)


class RelayContact:
    """ASGI middleware: every request carrying the host's token keeps `watch` in touch
    for as long as it lasts (an event stream, all the time it is open)."""

    def __init__(self, app: ASGIApp, *, is_relay: Callable[[str | None], bool], watch: RelayWatch):
        self.app, self._is_relay, self._watch = app, is_relay, watch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._is_relay(_authorization(scope)):
            await self.app(scope, receive, send)
            return
        with self._watch.streaming():
            await self.app(scope, receive, send)


def _authorization(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return bytes(value).decode("latin-1")
    return None

"""One-off background jobs and their one owner, shared by the relay and the host.

Here, not in `relay/` or `host/`: both processes start such jobs, and neither imports
the other (tests/test_imports.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from cockpit.log import get_logger

log = get_logger(__name__)


class Jobs:
    """One-off background jobs started by requests (a signup's setup); cancelled at shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()  # kept until done: the loop holds tasks weakly
        self._closed = False

    def spawn(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` once in the background; it must report its own failures.

        Once `aclose` began, `work` is not started: nothing would cancel or wait for it. A
        job that must happen is durable elsewhere (a setup's claim lapses and another
        relay, or the next start, resumes it); a warm-up is only a head start.
        """
        if self._closed:
            work.close()  # never awaited, on purpose
            log.info("jobs.not_started", job=name, reason="shutting down")
            return
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def running(self, name: str) -> bool:
        """True while a job named `name` has not finished."""
        return any(t.get_name() == name for t in self._tasks)

    async def aclose(self) -> None:
        """Cancel every job and wait for them; later jobs are not started."""
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

"""One-off background jobs and their one owner, shared by the relay and the host.

Here, not in `relay/` or `host/`: both processes start such jobs, and neither imports
the other (tests/test_imports.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class Jobs:
    """One-off background jobs started by requests (a signup's setup); cancelled at shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()  # kept until done: the loop holds tasks weakly

    def spawn(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` once in the background; it must report its own failures."""
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def running(self, name: str) -> bool:
        """True while a job named `name` has not finished."""
        return any(t.get_name() == name for t in self._tasks)

    async def aclose(self) -> None:
        """Cancel every job and wait for them."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

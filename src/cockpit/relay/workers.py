"""What the relay's background workers share: waiting for work, owning tasks."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Executor
from typing import Any, ParamSpec, TypeVar

from cockpit.jobs import Jobs as Jobs  # re-exported: relay code has always found it here
from cockpit.log import get_logger

log = get_logger(__name__)
P = ParamSpec("P")
T = TypeVar("T")


async def in_thread(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run blocking `func` (database work) in a thread.

    Unlike `asyncio.to_thread`, a cancelled caller still waits for the thread to finish
    before the cancellation goes on, so shutdown never disposes the database under a
    connection that a thread still holds.
    """
    return await _finished(asyncio.to_thread(functools.partial(func, *args, **kwargs)))


async def in_pool(pool: Executor, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`in_thread` on `pool`'s threads: for work that must not queue behind the default
    pool's (the webhook, behind dispatch, sends and status callbacks)."""
    call = functools.partial(contextvars.copy_context().run, func, *args, **kwargs)
    return await _finished(asyncio.get_running_loop().run_in_executor(pool, call))


async def _finished(work: Awaitable[T]) -> T:
    future = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await future
        raise


class Signal(asyncio.Event):
    """A worker's wake-up signal. `set()` wakes this relay's worker and, on PostgreSQL,
    the other relays' too (relay/wakeup.py, LISTEN/NOTIFY); `set_here()` only this one."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.announce: Callable[[str], None] | None = None
        self.idle = 0  # workers here waiting on this signal (relay/workers.py:wait_for_work)

    def set(self) -> None:
        """Wake the worker here; if it is busy, announce the work to the other relays.

        An idle worker here takes the work at once itself, and waking the others would
        only make them race it for the claim: that is what keeps NOTIFY cheap."""
        busy = not self.idle
        super().set()
        if busy and self.announce is not None:
            self.announce(self.kind)

    def set_here(self) -> None:
        """Wake this relay's worker only (another relay announced the work)."""
        super().set()


async def wait_for_work(signal: asyncio.Event, poll_seconds: float) -> None:
    """Return when `signal` is set, or after `poll_seconds` to look anyway."""
    counter = signal if isinstance(signal, Signal) else None  # counts its idle workers
    if counter is not None:
        counter.idle += 1
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(signal.wait(), timeout=poll_seconds)
    finally:
        if counter is not None:
            counter.idle -= 1


class TaskGroup:
    """Owns long-running worker tasks; `aclose()` cancels and awaits them all."""

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, name: str, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run `work()` in the background under `name`, restarting it if it crashes."""
        self._tasks = [t for t in self._tasks if not t.done()]
        self._tasks.append(asyncio.create_task(_supervised(name, work), name=name))

    async def cancel(self, name: str) -> None:
        """Cancel and await the tasks started under `name` (a user's follower, say)."""
        chosen = [t for t in self._tasks if t.get_name() == name]
        self._tasks = [t for t in self._tasks if t.get_name() != name]
        for task in chosen:
            task.cancel()
        await asyncio.gather(*chosen, return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel every task and wait for them to finish."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def running(self) -> list[str]:
        """Names of the tasks that have not finished (a slow shutdown logs them)."""
        return [t.get_name() for t in self._tasks if not t.done()]


async def _supervised(name: str, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
    while True:
        try:
            await work()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # A worker that dies silently loses messages' progress: log and start it again.
            log.error("worker.crashed", task=name, error=repr(exc), exc=True)
            await asyncio.sleep(1.0)

"""Background jobs: cancelled at shutdown, and none started once it began."""

from __future__ import annotations

import asyncio

from cockpit.jobs import Jobs


async def test_shutdown_cancels_a_running_job_and_starts_no_new_one() -> None:
    """A setup still running at shutdown is cancelled and waited for; a request that
    finishes during shutdown and asks for another job gets none, and the coroutine is
    closed rather than left unawaited (no task outlives the loop's owner)."""
    jobs = Jobs()
    began, ran_late = asyncio.Event(), []

    async def long_setup() -> None:
        began.set()
        await asyncio.sleep(3600)

    async def late() -> None:
        ran_late.append(True)

    jobs.spawn("setup-1", long_setup())
    await began.wait()
    assert jobs.running("setup-1")
    await jobs.aclose()
    assert not jobs.running("setup-1")
    coro = late()
    jobs.spawn("warm-1", coro)
    await asyncio.sleep(0.05)
    assert ran_late == [] and not jobs.running("warm-1")
    assert coro.cr_frame is None  # closed: never started, no "never awaited" warning

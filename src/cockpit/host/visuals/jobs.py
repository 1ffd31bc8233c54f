"""Pictures the host sends on its own: after a turn, and for the relay's commands.

`AutoVisuals` is told by the runner about each turn. When automatic visuals are on
and the turn changed files, it sends — after Claude's text, before the turn's
`result` — an announcement ("📝 2 files changed, +5 −1:"), the diff pictures (or
the overview above 5 files), and, when the dev server answers, a fresh screenshot.
Parts that Claude already sent in the turn with its own tools are not sent twice.

`diff_job` and `screenshot_job` answer `/diff`, `show <file>` and `/screenshot`
from the phone. Every failure becomes a plain sentence on the phone, never silence.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from cockpit.host.db import Turn
from cockpit.host.visuals import VisualsError, render_changes, show_file
from cockpit.host.visuals.changes import Snapshot, phone_text, snapshot, turn_bundle
from cockpit.host.visuals.service import HostVisuals, Outlet
from cockpit.log import get_logger

log = get_logger(__name__)

DIFF = "diff"
SCREENSHOT = "screenshot"


class AutoVisuals:
    """Shows what each turn changed (a `TurnObserver` of the runner)."""

    def __init__(self, visuals: HostVisuals):
        self.visuals = visuals
        self._before: dict[str, Snapshot] = {}
        self._shown: dict[str, set[str]] = {}

    def note(self, turn_id: str, what: str) -> None:
        """Claude sent `what` (DIFF or SCREENSHOT) itself during `turn_id`: skip it after."""
        self._shown.setdefault(turn_id, set()).add(what)

    async def before_turn(self, turn: Turn) -> None:
        """Remember the session's folder as it is before Claude starts."""
        self._shown.pop(turn.turn_id, None)
        try:
            repo = self.visuals.places.folder(turn.session)
            self._before[turn.session] = await asyncio.to_thread(snapshot, repo)
        except VisualsError as exc:
            self._before.pop(turn.session, None)
            log.warning("visuals.snapshot_failed", turn_id=turn.turn_id, error=str(exc))

    async def after_turn(self, turn: Turn) -> None:
        """Send the turn's changes (and a screenshot) if it changed files and auto is on."""
        before = self._before.pop(turn.session, None)
        shown = self._shown.pop(turn.turn_id, set())
        if before is None or not self.visuals.auto:
            return
        outlet = self.visuals.outlet(turn.turn_id, turn.session)
        await never_silent(outlet, lambda: self._show(outlet, before, shown))

    async def _show(self, outlet: Outlet, before: Snapshot, shown: set[str]) -> None:
        repo = outlet.ctx.cwd  # the session's own folder: its worktree, or the workspace
        after = await asyncio.to_thread(snapshot, repo)
        if not after.differs(before):
            return
        bundle = None
        if DIFF not in shown:
            bundle = await asyncio.to_thread(turn_bundle, repo, before, after)
        if bundle is not None:
            async with self.visuals.send_lock:
                outlet.say(bundle.text, part="changes")
                outlet.show_all(bundle.images)
        if SCREENSHOT not in shown and await self.visuals.dev_running():
            await _screenshot(self.visuals, outlet, self.visuals.last_path)


async def diff_job(visuals: HostVisuals, request_id: str, session: str, query: str | None) -> None:
    """Send the working tree's diff pictures, or those of the one file `query` names."""
    outlet = visuals.outlet(request_id, session)

    async def run() -> None:
        repo = outlet.ctx.cwd  # the session's own folder: its worktree, or the workspace
        if not await asyncio.to_thread(repo.is_dir):
            outlet.say(f"📝 Session {session} has not changed anything yet.")
            return
        if query:
            bundle = await asyncio.to_thread(show_file, repo, query)
        else:
            bundle = await asyncio.to_thread(render_changes, repo)
        async with visuals.send_lock:
            text = phone_text(bundle.text, bundle.files)
            outlet.say(f"📝 {text}" if bundle.images else text)
            outlet.show_all(bundle.images)

    await never_silent(outlet, run)


async def screenshot_job(
    visuals: HostVisuals,
    request_id: str,
    session: str,
    target: str | None,
    full_page: bool,
    *,
    any_url: bool = False,
) -> None:
    """Send a side-by-side mobile and desktop screenshot of `target` (default "/")."""
    outlet = visuals.outlet(request_id, session)
    await never_silent(outlet, lambda: _screenshot(visuals, outlet, target, full_page, any_url))


async def _screenshot(
    visuals: HostVisuals,
    outlet: Outlet,
    target: str | None,
    full_page: bool = False,
    any_url: bool = False,
) -> None:
    try:
        picture = await visuals.shoot(target, full_page=full_page, any_url=any_url)
    except VisualsError as exc:
        outlet.say(f"📸 {exc}")
        return
    async with visuals.send_lock:
        outlet.show(picture)


async def never_silent(outlet: Outlet, work: Callable[[], Awaitable[None]]) -> None:
    """Run `work`; a failure is told to the phone in a sentence instead of vanishing."""
    try:
        await work()
    except asyncio.CancelledError:
        raise
    except VisualsError as exc:
        outlet.say(f"⚠️ {exc}")
    except Exception:
        log.error("visuals.job_failed", exc=True, turn_id=outlet.ctx.turn_id)
        outlet.say("⚠️ Something went wrong while making that picture; it was logged.")

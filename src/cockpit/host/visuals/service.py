"""The host's visuals: one browser, the dev server, and pictures sent to the phone.

`HostVisuals` lives as long as the host. It keeps one `Screenshotter` (Chromium is
launched on the first picture and kept open), knows the project's dev server
(COCKPIT_DEV_COMMAND / COCKPIT_DEV_PORT, else package.json) and starts it when a
screenshot of a path needs it. Pictures reach the phone as `image` events, words as
`message` events. It serves three callers: Claude's phone tools (`visual_tools`),
the relay's token-free commands (`visual_routes`), and the runner, which tells it
about each turn so that changed files are shown automatically (`visual_auto`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import tempfile
import uuid
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

from cockpit.config import Settings
from cockpit.host.db import HostDB
from cockpit.host.events import EventLog
from cockpit.host.phone_tools import PhoneContext
from cockpit.host.visuals import Action, DevServer, Screenshotter
from cockpit.host.visuals.errors import DevServerError, ScreenshotError
from cockpit.host.waits import Waits
from cockpit.host.worktrees import Worktrees
from cockpit.log import get_logger
from cockpit.pictures.composite import side_by_side

log = get_logger(__name__)

AUTO_PREF = "auto_visuals"
DEV_START_SECONDS = 60.0
VIEWPORT_CHOICES = {"mobile": ("mobile",), "desktop": ("desktop",), "both": ("mobile", "desktop")}
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


class Picture(Protocol):
    """An encoded image with the words to send under it (diff, shot or composite)."""

    @property
    def data(self) -> bytes: ...

    @property
    def filename(self) -> str: ...

    @property
    def caption(self) -> str: ...

    @property
    def content_type(self) -> str: ...


@dataclass(frozen=True)
class HostPlaces:
    """What the visuals need of the host: settings, storage, and its folders."""

    settings: Settings
    db: HostDB
    events: EventLog
    waits: Waits
    workspace: Path
    data_dir: Path
    folders: Worktrees = field(kw_only=True)

    def folder(self, session: str) -> Path:
        """The folder whose files `session` changes (its worktree, or the workspace)."""
        return self.folders.folder(session)

    @property
    def files_dir(self) -> Path:
        """Where published pictures are kept for the relay to fetch."""
        return self.data_dir / "files"


class Outlet:
    """Sends words and pictures to the phone as events of one turn (or request)."""

    def __init__(self, ctx: PhoneContext):
        self.ctx = ctx

    def say(self, text: str, part: str | None = None) -> None:
        """A `message` event with `text`; `part="changes"` marks a turn's change summary
        (the relay joins it to Claude's answer)."""
        extra = {"part": part} if part else {}
        self.ctx.events.emit("message", self.ctx.turn_id, self.ctx.session, text=text, **extra)

    def show(self, picture: Picture) -> str:
        """Publish `picture` (an `image` event); returns its image id."""
        spool = self.ctx.files_dir / "spool"
        spool.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=spool) as tmp:
            path = Path(tmp) / picture.filename
            path.write_bytes(picture.data)
            return self.ctx.publish_image(path, picture.caption, picture.content_type)

    def show_all(self, pictures: Sequence[Picture]) -> None:
        """Publish each picture, in order."""
        for picture in pictures:
            self.show(picture)


class HostVisuals:
    """The browser, the dev server and the automatic-visuals switch of one host."""

    def __init__(self, places: HostPlaces, *, screenshotter: Screenshotter | None = None):
        self.places = places
        self.shooter = screenshotter or Screenshotter()
        self.dev: DevServer | None = None
        self.last_path = "/"
        self._dev_lock = asyncio.Lock()
        self.send_lock = asyncio.Lock()  # one request's pictures stay together on the phone
        self._tasks: set[asyncio.Task[None]] = set()

    # --- the automatic-visuals switch ---
    @property
    def auto(self) -> bool:
        """Whether changed files are shown after each turn (on unless the user said off)."""
        return self.places.db.get_pref(AUTO_PREF) != "off"

    def set_auto(self, enabled: bool) -> None:
        """Switch automatic visuals on or off; remembered across restarts."""
        self.places.db.set_pref(AUTO_PREF, "on" if enabled else "off")
        log.info("visuals.auto", enabled=enabled)

    def status(self) -> dict[str, Any]:
        """The switch and the dev server, for GET /health."""
        dev = self.dev
        server = (
            None
            if dev is None
            else {"command": dev.command, "port": dev.port, "running": dev.running}
        )
        return {"auto_visuals": self.auto, "dev_server": server}

    # --- where pictures go ---
    def outlet(self, turn_id: str, session: str) -> Outlet:
        """An outlet emitting events under `turn_id` in `session`."""
        p = self.places
        cwd = p.folder(session)
        ctx = PhoneContext(turn_id, session, p.workspace, cwd, p.files_dir, p.events, p.waits, p.db)
        return Outlet(ctx)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in the background; the host's shutdown cancels it."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- screenshots ---
    async def shoot(
        self,
        target: str | None,
        *,
        viewports: str = "both",
        actions: Sequence[Action] = (),
        full_page: bool = False,
        color_scheme: str | None = None,
        any_url: bool = False,
    ) -> Picture:
        """A screenshot of `target` (a dev-server path or a loopback URL, or with `any_url`
        any http(s) URL); both viewports → side by side."""
        names = VIEWPORT_CHOICES.get(viewports)
        if names is None:
            raise ScreenshotError(f"Viewports must be mobile, desktop or both, not {viewports!r}.")
        url = await self.resolve(target or "/", any_url=any_url)
        steps = [_absolute(step, url) for step in actions]
        shots = await self.shooter.shoot(
            url, viewports=names, actions=steps, full_page=full_page, color_scheme=color_scheme
        )
        if len(shots) == 1:
            return shots[0]
        return await asyncio.to_thread(side_by_side, shots)

    async def resolve(self, target: str, *, any_url: bool = False) -> str:
        """The URL to open: a loopback URL as given, or `target` as a path on the dev server."""
        target = target.strip()
        if target.startswith(("http://", "https://")):
            if not any_url and not is_loopback_url(target):
                raise ScreenshotError(
                    f"I only photograph pages served on this workspace (127.0.0.1 or "
                    f"localhost), not {target}."
                )
            return target
        path = target if target.startswith("/") else "/" + target
        dev = await self.dev_server()
        self.last_path = path
        return dev.url(path)

    async def dev_server(self) -> DevServer:
        """The project's dev server, started (and waited for) when it does not answer."""
        async with self._dev_lock:
            dev = self._dev_or_detect()
            if await dev.healthy():
                return dev
            await dev.start()
            if not await dev.wait_healthy(DEV_START_SECONDS):
                raise DevServerError(_dev_failure(dev))
            return dev

    def _dev_or_detect(self) -> DevServer:
        if self.dev is None:
            s = self.places.settings
            self.dev = DevServer(
                self.places.workspace,
                command=s.dev_command or None,
                port=s.dev_port,
                log_path=self.places.data_dir / "devserver.log",
            )
        return self.dev

    async def dev_running(self) -> bool:
        """True when the dev server this host knows answers right now."""
        return self.dev is not None and await self.dev.healthy()

    # --- lifetime ---
    async def __aenter__(self) -> HostVisuals:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Cancel pending requests, stop the dev server we started, close the browser."""
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.dev is not None:
            await self.dev.stop()
        await self.shooter.close()


def new_request_id() -> str:
    """A turn id for pictures asked for without Claude: `visuals-<hex>`."""
    return f"visuals-{uuid.uuid4().hex[:16]}"


def is_loopback_url(url: str) -> bool:
    """True for an http(s) URL whose host is this machine (127.0.0.0/8, ::1, localhost)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return False
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _absolute(action: Action, base: str) -> Action:
    """A navigate step to a path means that path on the page's own server."""
    if action.kind != "navigate" or not action.target:
        return action
    target = action.target
    if not target.startswith(("http://", "https://")):
        return Action.navigate(urljoin(base, target))
    if not is_loopback_url(target):
        raise ScreenshotError(f"I only open pages served on this workspace, not {target}.")
    return action


def _dev_failure(dev: DevServer) -> str:
    tail = dev.log_tail(15).strip()
    head = f"The dev server did not come up (`{dev.command}`, port {dev.port})."
    return f"{head} Last lines of its output:\n```\n{tail}\n```" if tail else head

"""Screenshots of the real app with the system Chromium, driven by Playwright.

One browser per host: `Screenshotter` is an async context manager that launches
Chromium on the first shot, keeps it open for the next ones, and launches it
again if it died. It keeps one warm page per viewport and colour scheme (each in
its own browser context): a shot navigates it, waits for the load event and a
short quiet moment without requests (`actions.settle`), takes the picture, then
clears the page's cookies and storage and leaves it on about:blank, so no shot
sees another's state and no app keeps running between shots. A shot that fails
closes its page; the next one opens a new one. Viewports: "mobile" is 390×844 CSS px at device
scale 2 (a 780 px wide image, touch, mobile) and "desktop" 1440×900 at scale 1.5
(a 2,160 px wide image: sharp on a phone's screen and zoomed in well beyond it, at
half the cost of scale 2; decision 0020). Images are JPEG, quality 80, and stay under
5 MB.
"""

from __future__ import annotations

import asyncio
import io
import shutil
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from PIL import Image
from playwright.async_api import (
    Browser,
    BrowserContext,
    FloatRect,
    Page,
    Playwright,
    async_playwright,
)
from playwright.async_api import Error as PlaywrightError

from cockpit.host.visuals.actions import Action, run_action, watch_traffic
from cockpit.host.visuals.errors import ScreenshotError
from cockpit.log import get_logger
from cockpit.pictures.jpeg import MAX_IMAGE_BYTES, shrink_jpeg

__all__ = ["VIEWPORTS", "Action", "Screenshotter", "Shot", "find_chromium"]

log = get_logger(__name__)

CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
)
_MOBILE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36"
)
VIEWPORTS: dict[str, dict[str, Any]] = {
    "mobile": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
        "user_agent": _MOBILE_UA,
    },
    "desktop": {"viewport": {"width": 1440, "height": 900}, "device_scale_factor": 1.5},
}
MAX_FULL_PAGE_CSS_PX = 8000  # longer pages are cut: a taller picture is unreadable anyway
_FORGET = "() => { try { localStorage.clear(); sessionStorage.clear(); } catch (e) {} }"
PageKey = tuple[str, str | None]  # viewport, colour scheme


@dataclass(frozen=True)
class Shot:
    """One screenshot: JPEG bytes of `url` in one viewport."""

    viewport: str
    jpeg: bytes
    width: int
    height: int
    url: str
    status: int | None
    filename: str
    caption: str

    content_type = "image/jpeg"

    @property
    def data(self) -> bytes:
        """The encoded image (same as `jpeg`)."""
        return self.jpeg


def find_chromium() -> str | None:
    """Path of the system Chromium: /usr/bin/chromium, else `chromium` on PATH."""
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Screenshotter:
    """Keeps one Chromium open and takes screenshots with it."""

    def __init__(
        self,
        *,
        executable: str | None = None,
        timeout_ms: int = 20_000,
        settle_ms: int = 3_000,
        quality: int = 80,
    ) -> None:
        self._executable = executable
        self._timeout_ms = timeout_ms
        self._settle_ms = settle_ms
        self._quality = quality
        self._pw: Playwright | None = None
        self._browser: Browser | None = None
        self._lock = asyncio.Lock()
        self._pages: dict[PageKey, Page] = {}  # warm pages of the current browser
        self._page_locks: dict[PageKey, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # pages being cleared after their shot
        self.launches = 0

    async def __aenter__(self) -> Screenshotter:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the browser and Playwright's driver (safe to call twice)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5)
        browser, pw = self._browser, self._pw
        self._browser = self._pw = None
        self._pages.clear()
        if browser is not None:
            await _quietly(browser.close())
        if pw is not None:
            await _quietly(pw.stop())

    async def shoot(
        self,
        url: str,
        *,
        viewports: Sequence[str] = ("mobile",),
        actions: Sequence[Action] = (),
        full_page: bool = False,
        color_scheme: str | None = None,
    ) -> list[Shot]:
        """One screenshot of `url` per viewport, after running `actions` in order."""
        unknown = [v for v in viewports if v not in VIEWPORTS]
        if unknown or not viewports:
            raise ScreenshotError(f"Unknown viewport {unknown}; use mobile or desktop.")
        if color_scheme not in (None, "light", "dark"):
            raise ScreenshotError(f"Colour scheme must be light or dark, not {color_scheme!r}.")
        shots = []
        for name in viewports:
            shots.append(await self._shoot_one(url, name, actions, full_page, color_scheme))
        return shots

    async def _shoot_one(
        self,
        url: str,
        viewport: str,
        actions: Sequence[Action],
        full_page: bool,
        color_scheme: str | None,
    ) -> Shot:
        key = (viewport, color_scheme)
        lock = self._page_locks.setdefault(key, asyncio.Lock())
        await lock.acquire()
        try:
            page = await self._warm_page(key)
            status = await self._open(page, url)
            for action in actions:
                status = await run_action(page, action, self._timeout_ms, self._settle_ms) or status
            jpeg = await self._capture(page, full_page)
            shot = _shot(viewport, jpeg, page.url, status, color_scheme)
        except BaseException:
            await self._drop(key)
            lock.release()
            raise
        self._spawn(self._forget(key, page, lock))  # the next shot of `key` waits for it
        return shot

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _warm_page(self, key: PageKey) -> Page:
        """The kept page of `key`, or a new one in a new context."""
        page, browser = self._pages.get(key), self._browser
        if page is not None and not page.is_closed() and browser and browser.is_connected():
            try:
                await page.evaluate("1")  # a browser that just died may not be noticed yet
                return page
            except PlaywrightError as exc:
                log.warning("visuals.warm_page_lost", error=_first_line(exc))
                await self.close()
        options = dict(VIEWPORTS[key[0]])
        if key[1]:
            options["color_scheme"] = key[1]
        context = await self._new_context(options)
        try:
            page = await context.new_page()
        except PlaywrightError as exc:
            await _quietly(context.close())
            raise ScreenshotError(f"Chromium is not working: {_first_line(exc)}") from None
        page.set_default_timeout(self._timeout_ms)
        watch_traffic(page)
        self._pages[key] = page
        return page

    async def _forget(self, key: PageKey, page: Page, lock: asyncio.Lock) -> None:
        """Clear what the shot left (cookies, storage), park the page on about:blank, and
        let the next shot of `key` have it."""
        try:
            await page.evaluate(_FORGET)
            await page.context.clear_cookies()
            await page.goto("about:blank")
        except PlaywrightError:
            await self._drop(key)
        finally:
            lock.release()

    async def _drop(self, key: PageKey) -> None:
        page = self._pages.pop(key, None)
        if page is not None:
            await _quietly(page.context.close())

    async def _new_context(self, options: dict[str, Any]) -> BrowserContext:
        """A fresh context; a browser that died (even if not noticed yet) is launched again."""
        browser = await self._ensure_browser()
        try:
            return await browser.new_context(**options)
        except PlaywrightError as exc:
            log.warning("visuals.chromium_unusable", error=_first_line(exc))
        await self.close()
        browser = await self._ensure_browser()
        try:
            return await browser.new_context(**options)
        except PlaywrightError as exc:
            raise ScreenshotError(f"Chromium is not working: {_first_line(exc)}") from None

    async def _open(self, page: Page, url: str) -> int | None:
        return await run_action(page, Action.navigate(url), self._timeout_ms, self._settle_ms)

    async def _capture(self, page: Page, full_page: bool) -> bytes:
        try:
            if full_page:
                height = int(await page.evaluate("document.documentElement.scrollHeight"))
                if height > MAX_FULL_PAGE_CSS_PX:
                    width = int(await page.evaluate("document.documentElement.clientWidth"))
                    clip = FloatRect(x=0, y=0, width=width, height=MAX_FULL_PAGE_CSS_PX)
                    return await page.screenshot(
                        type="jpeg", quality=self._quality, full_page=True, clip=clip
                    )
            data = await page.screenshot(type="jpeg", quality=self._quality, full_page=full_page)
        except PlaywrightError as exc:
            raise ScreenshotError(f"The screenshot failed: {_first_line(exc)}") from None
        return shrink_jpeg(data, MAX_IMAGE_BYTES)

    async def _ensure_browser(self) -> Browser:
        async with self._lock:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            if self._browser is not None:
                log.warning("visuals.chromium_died", relaunching=True)
                await self.close()
            self._pages.clear()
            self._browser = await self._launch()
            return self._browser

    async def _launch(self) -> Browser:
        path = self._executable or find_chromium()
        if path is None:
            raise ScreenshotError("Chromium is not installed (apt-get install chromium).")
        self._pw = await async_playwright().start()
        try:
            browser = await self._pw.chromium.launch(
                executable_path=path, args=list(CHROMIUM_ARGS), headless=True
            )
        except PlaywrightError as exc:
            await self.close()
            raise ScreenshotError(f"Chromium did not start: {_first_line(exc)}") from None
        self.launches += 1
        log.info("visuals.chromium_launched", path=path, launches=self.launches)
        return browser


def _shot(viewport: str, jpeg: bytes, url: str, status: int | None, scheme: str | None) -> Shot:
    with Image.open(io.BytesIO(jpeg)) as image:
        width, height = image.size
    suffix = f"-{scheme}" if scheme else ""
    caption = f"{url} · {viewport}" + (f" · {scheme}" if scheme else "")
    return Shot(viewport, jpeg, width, height, url, status, f"shot-{viewport}{suffix}.jpg", caption)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


async def _quietly(awaitable: Any) -> None:
    try:
        await awaitable
    except Exception as exc:  # closing a dead browser must not hide the real error
        log.debug("visuals.close_failed", error=_first_line(exc))

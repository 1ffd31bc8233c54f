"""What a screenshot may do first: navigate, click, type, wait; run on a Playwright page.

Errors become `ScreenshotError` with a sentence a person understands: the page
did not answer, did not load in time, or nothing matched a selector or text.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from dataclasses import dataclass
from typing import Any, Literal

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Locator, Page, Request
from playwright.async_api import TimeoutError as PlaywrightTimeout

from cockpit.host.visuals.errors import ScreenshotError

ActionKind = Literal["navigate", "click", "type", "wait"]
MAX_WAIT_MS = 30_000
_FIND_MS = 5_000  # how long to look for a click/type target that is not there yet
QUIET_MS = 100  # a page is settled once no request ran for this long after its load event


@dataclass(frozen=True)
class Action:
    """One step before the picture. Build with `Action.click("Save")` and friends."""

    kind: ActionKind
    target: str | None = None
    text: str | None = None
    ms: int | None = None

    @classmethod
    def navigate(cls, url: str) -> Action:
        """Open `url`."""
        return cls("navigate", target=url)

    @classmethod
    def click(cls, target: str) -> Action:
        """Click the element a CSS selector, a button/link name or a visible text names."""
        return cls("click", target=target)

    @classmethod
    def type(cls, selector: str, text: str) -> Action:
        """Fill the input that `selector` (or its label/placeholder/text) names with `text`."""
        return cls("type", target=selector, text=text)

    @classmethod
    def wait(cls, ms: int | None = None, selector: str | None = None) -> Action:
        """Wait `ms` milliseconds, or until `selector` is visible."""
        if (ms is None) == (selector is None):
            raise ScreenshotError("A wait needs either milliseconds or a selector.")
        return cls("wait", target=selector, ms=ms)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Action:
        """From tool input: {"navigate": url}, {"click": t}, {"type": {"selector", "text"}},
        {"wait": 500} or {"wait": "#id"}."""
        if len(data) != 1:
            raise ScreenshotError(f"An action is one of navigate, click, type, wait: {data!r}")
        ((kind, value),) = data.items()
        if kind == "navigate" and isinstance(value, str):
            return cls.navigate(value)
        if kind == "click" and isinstance(value, str):
            return cls.click(value)
        if kind == "type" and isinstance(value, dict):
            return cls.type(str(value.get("selector", "")), str(value.get("text", "")))
        if kind == "wait" and isinstance(value, int | str):
            return cls.wait(ms=value) if isinstance(value, int) else cls.wait(selector=value)
        raise ScreenshotError(f"Not an action I know: {data!r}")


async def run_action(page: Page, action: Action, timeout_ms: int, settle_ms: int) -> int | None:
    """Do `action` on `page`; a navigation returns the HTTP status of the page."""
    if action.kind == "navigate":
        return await _navigate(page, action.target or "", timeout_ms, settle_ms)
    if action.kind == "wait":
        await _wait(page, action, timeout_ms)
        return None
    target = await find(page, action.target or "")
    try:
        if action.kind == "click":
            await target.click(timeout=timeout_ms)
        else:
            await target.fill(action.text or "", timeout=timeout_ms)
    except PlaywrightError as exc:
        raise ScreenshotError(f"Could not {action.kind} '{action.target}': {_line(exc)}") from None
    await settle(page, settle_ms)
    return None


class Traffic:
    """Counts a page's requests in flight, and when the last one started or ended."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.open: set[Request] = set()
        self.changes = 0
        self.last = time.monotonic()
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    def _started(self, request: Request) -> None:
        self.open.add(request)
        self._changed()

    def _ended(self, request: Request) -> None:
        self.open.discard(request)
        self._changed()

    def _changed(self) -> None:
        self.changes += 1
        self.last = time.monotonic()

    async def quiet(self, quiet_ms: int, within_ms: int) -> None:
        """Wait until nothing was in flight for `quiet_ms`, and `quiet_ms` have passed since
        the load event (giving up after `within_ms`).

        The wait is a timer in the page, due at the later of the two: a timer the app set
        before (a fetch 60 ms after its load event) fires first, however late a busy machine
        runs both, and its request reaches us before our timer's answer does (one CDP
        session keeps their order). Timed here instead, a loaded machine took pictures
        before such a fetch had even started. Requests are timed as we hear of them, which
        is never earlier than they happened, so that part only errs on the long side.
        """
        deadline = time.monotonic() + within_ms / 1000
        while time.monotonic() < deadline:
            if self.open:
                await asyncio.sleep(0.01)
                continue
            seen = self.changes
            calm_ms = (time.monotonic() - self.last) * 1000
            try:
                await self.page.evaluate(_PAGE_TIMER, [quiet_ms - calm_ms, quiet_ms])
            except PlaywrightError:
                if self.page.is_closed():
                    raise
                await asyncio.sleep(0.01)  # it navigated meanwhile: wait for the new page
                continue
            if not self.open and self.changes == seen:
                return


# Waits `ms`, and at least until `quiet` ms after the load event, by the page's clock.
_PAGE_TIMER = """([ms, quiet]) => {
  const nav = performance.getEntriesByType("navigation")[0];
  const load = nav && nav.loadEventEnd ? nav.loadEventEnd + quiet - performance.now() : 0;
  return new Promise(done => setTimeout(done, Math.max(0, ms, load)));
}"""
_TRAFFIC: weakref.WeakKeyDictionary[Page, Traffic] = weakref.WeakKeyDictionary()


def watch_traffic(page: Page) -> Traffic:
    """The page's request counter (made on first use: call it right after `new_page`)."""
    traffic = _TRAFFIC.get(page)
    if traffic is None:
        traffic = _TRAFFIC[page] = Traffic(page)
    return traffic


async def settle(page: Page, settle_ms: int) -> None:
    """Let the page finish: its load event, then a quiet moment without requests (at most
    `settle_ms` in all), and web fonts loaded (the screenshot itself waits for a frame)."""
    try:
        await page.wait_for_load_state("load", timeout=settle_ms)
        await watch_traffic(page).quiet(QUIET_MS, settle_ms)
        await page.evaluate("document.fonts ? document.fonts.ready.then(() => true) : true")
    except PlaywrightError:
        pass  # a page that never finishes loading is taken as it is


async def find(page: Page, target: str) -> Locator:
    """The first visible element named by a CSS selector, a button/link name or a text."""
    deadline = time.monotonic() + _FIND_MS / 1000
    while True:
        for locator in _candidates(page, target):
            try:
                visible = locator.filter(visible=True)
                if await visible.count() > 0:
                    return visible.first
            except PlaywrightError:
                continue  # not a valid CSS selector: try it as a text
        if time.monotonic() > deadline:
            raise ScreenshotError(f"Nothing on the page matches '{target}'.")
        await asyncio.sleep(0.1)


def _candidates(page: Page, target: str) -> list[Locator]:
    return [
        page.locator(target),
        page.get_by_role("button", name=target),
        page.get_by_role("link", name=target),
        page.get_by_label(target),
        page.get_by_placeholder(target),
        page.get_by_text(target, exact=True),
        page.get_by_text(target),
    ]


async def _navigate(page: Page, url: str, timeout_ms: int, settle_ms: int) -> int | None:
    try:
        response = await page.goto(url, wait_until="load", timeout=timeout_ms)
    except PlaywrightTimeout:
        raise ScreenshotError(
            f"{url} did not finish loading within {timeout_ms // 1000} s."
        ) from None
    except PlaywrightError as exc:
        raise ScreenshotError(_open_failure(url, str(exc))) from None
    await settle(page, settle_ms)
    return response.status if response is not None else None


async def _wait(page: Page, action: Action, timeout_ms: int) -> None:
    if action.ms is not None:
        await asyncio.sleep(min(max(action.ms, 0), MAX_WAIT_MS) / 1000)
        return
    try:
        await page.wait_for_selector(action.target or "", state="visible", timeout=timeout_ms)
    except PlaywrightTimeout:
        secs = timeout_ms // 1000
        raise ScreenshotError(f"'{action.target}' did not appear within {secs} s.") from None
    except PlaywrightError as exc:
        raise ScreenshotError(f"Could not wait for '{action.target}': {_line(exc)}") from None


def _open_failure(url: str, detail: str) -> str:
    if "ERR_CONNECTION_REFUSED" in detail:
        return f"Could not open {url}: nothing answers there (is the dev server running?)."
    if "ERR_UNSAFE_PORT" in detail:
        return f"Could not open {url}: Chromium refuses that port as unsafe; use another port."
    if "ERR_NAME_NOT_RESOLVED" in detail:
        return f"Could not open {url}: that host name does not exist."
    if "ERR_INVALID_URL" in detail or "invalid URL" in detail:
        return f"Could not open {url}: that is not a valid address."
    return f"Could not open {url}: {_line(Exception(detail))}"


def _line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

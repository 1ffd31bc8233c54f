"""What the visuals benchmark times on the host side: diff pictures, diff2html, screenshots.

- `make_change(root, files)`: a real git repository with `files` committed source files
  (Python, TypeScript and CSS in turn), each then edited in three places in the
  working tree, so that the working tree against HEAD is a `files`-file change.
- `time_ours(repo)`: cockpit's own renderer (`cockpit.pictures`, fed from git by
  `cockpit.host.visuals`), both what the phone is sent (`render_changes`: pictures per
  file up to 5 files, else one overview) and every file's pictures (what `show <file>`
  would give, for all files).
- `Diff2Html`: the baseline, `diff2html-cli` (npm) writing the same change as one HTML
  page, and a warm Chromium taking a full-page PNG of it, 750 CSS px at 2×.
- `time_screenshots(...)`: the host's `Screenshotter` on a page served on loopback,
  cold (a new Screenshotter: Chromium launches) and warm (the same one again).
"""

from __future__ import annotations

import asyncio
import shutil
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import Browser, Playwright, Route, ViewportSize, async_playwright
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route as WebRoute

from cockpit.host.visuals import read_changes, render_changes
from cockpit.host.visuals.screenshot import (
    CHROMIUM_ARGS,
    VIEWPORTS,
    Screenshotter,
    find_chromium,
)
from cockpit.pictures.diff_image import render_file_diff

GIT = ("git", "-c", "user.name=bench", "-c", "user.email=bench@localhost")
KINDS = ("py", "ts", "css")
LINES_PER_FILE = 60
D2H_VIEWPORT = ViewportSize(width=750, height=1000)  # 1500 px wide at 2×, as cockpit's own pictures
HLJS_CSS = "highlight.js/styles/github.min.css"  # the theme diff2html's page links from cdnjs
SCREENSHOT_PAGE = """<!doctype html><html><head><meta name="viewport" content="width=device-width">
<style>body{font-family:sans-serif;margin:0}header{background:#1f6feb;color:#fff;padding:24px}
.card{margin:16px;padding:16px;border-radius:12px;box-shadow:0 1px 4px #0003}</style></head>
<body><header><h1>Settings</h1></header>
""" + "".join(
    f"<div class='card'><h2>Item {i}</h2><p>Text of item {i}.</p></div>" for i in range(12)
)


# --- a real git change --------------------------------------------------------------------


def _line(kind: str, file: int, n: int) -> str:
    if kind == "py":
        return f"def handler_{file}_{n}(value: int) -> int:  # step {n}\n    return value * {n}\n"
    if kind == "ts":
        return f"export const item{file}_{n} = (v: number): number => v + {n}; // step {n}\n"
    return f".block-{file}-{n} {{ margin: {n}px; color: #{n * 4013 % 0xFFFFFF:06x}; }}\n"


def _source(kind: str, file: int, edited: bool) -> str:
    lines = [_line(kind, file, n) for n in range(LINES_PER_FILE)]
    if edited:  # three hunks: a changed line, three added lines, a removed line
        lines[10] = _line(kind, file, 1000 + file)
        lines[30:30] = [_line(kind, file, 2000 + i) for i in range(3)]
        del lines[52]
    return "".join(lines)


def _path(root: Path, file: int) -> Path:
    kind = KINDS[file % len(KINDS)]
    return root / f"pkg{file // 10}" / f"module_{file}.{kind}"


_COMMENT = {"py": "# {}\n", "ts": "// {}\n", "css": "/* {} */\n"}


def sources(root: Path, files: int, *, edited: bool, salt: int = 0) -> list[tuple[Path, str]]:
    """`files` source files under `root` and their text (edited: the changed version)."""
    found = []
    for file in range(files):
        path = _path(root, file)
        kind = path.suffix[1:]
        note = _COMMENT[kind].format(f"version {salt}") if salt else ""
        found.append((path, _source(kind, file, edited) + note))
    return found


def write_sources(root: Path, files: int, *, edited: bool) -> None:
    """Write the `files` source files of `sources` under `root`."""
    for path, text in sources(root, files, edited=edited):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def commit_all(repo: Path, message: str) -> None:
    """`git add -A` and commit everything in `repo`."""
    subprocess.run([*GIT, "-C", str(repo), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(repo), "commit", "-q", "-m", message], check=True)


def make_change(root: Path, files: int) -> Path:
    """A fresh repository under `root` whose working tree changes `files` files against HEAD."""
    repo = root / f"change-{files}"
    repo.mkdir(parents=True)
    subprocess.run([*GIT, "-C", str(repo), "init", "-q", "-b", "main"], check=True)
    write_sources(repo, files, edited=False)
    commit_all(repo, "before")
    write_sources(repo, files, edited=True)
    return repo


# --- cockpit's renderer ---------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    """One timed rendering: seconds, pictures, their total bytes and the tallest height."""

    seconds: float
    images: int
    bytes: int
    max_height: int


def time_ours(repo: Path) -> tuple[Rendered, Rendered]:
    """cockpit's pictures of `repo`'s change: what the phone is sent, and every file's pages."""
    start = time.perf_counter()
    bundle = render_changes(repo)
    sent = _rendered(time.perf_counter() - start, [(i.png, i.height) for i in bundle.images])
    start = time.perf_counter()
    pages = [page for fd in read_changes(repo) for page in render_file_diff(fd)]
    every = _rendered(time.perf_counter() - start, [(p.png, p.height) for p in pages])
    return sent, every


def _rendered(seconds: float, images: list[tuple[bytes, int]]) -> Rendered:
    return Rendered(
        seconds, len(images), sum(len(d) for d, _ in images), max((h for _, h in images), default=0)
    )


# --- the diff2html baseline -----------------------------------------------------------------


def install_diff2html(folder: Path) -> Path:
    """`npm install diff2html-cli` into `folder`; its node_modules (raises on failure)."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed")
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--prefix", str(folder), "diff2html-cli"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    modules = folder / "node_modules"
    if done.returncode != 0 or not (modules / ".bin" / "diff2html").exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"npm install diff2html-cli failed: {' / '.join(tail)}")
    return modules


@dataclass(frozen=True)
class Diff2HtmlRun:
    """One diff2html rendering: the CLI's seconds, the screenshot's, and the PNG."""

    cli_seconds: float
    shot_seconds: float
    width: int
    height: int
    bytes: int

    @property
    def seconds(self) -> float:
        """CLI and screenshot together: from the change to one picture."""
        return self.cli_seconds + self.shot_seconds


class Diff2Html:
    """`diff2html-cli` and a warm Chromium, to picture a change the way diff2html does."""

    def __init__(self, modules: Path, browser: Browser) -> None:
        self._cli = modules / ".bin" / "diff2html"
        self._theme = modules / HLJS_CSS
        self._browser = browser

    async def render(self, repo: Path, workdir: Path) -> Diff2HtmlRun:
        """Write `repo`'s working tree vs HEAD as HTML with the CLI, then screenshot it."""
        html = workdir / f"{repo.name}.html"
        start = time.perf_counter()
        await asyncio.to_thread(self._run_cli, repo, html)
        cli_seconds = time.perf_counter() - start
        start = time.perf_counter()
        png = await self._shoot(html)
        shot_seconds = time.perf_counter() - start
        width, height = struct.unpack(">II", png[16:24])  # PNG IHDR: PIL refuses > 179 Mpx
        return Diff2HtmlRun(cli_seconds, shot_seconds, width, height, len(png))

    def _run_cli(self, repo: Path, html: Path) -> None:
        args = [str(self._cli), "-s", "line", "--cs", "light", "-F", str(html), "--", "HEAD"]
        subprocess.run(args, cwd=repo, check=True, capture_output=True, timeout=300)

    async def _shoot(self, html: Path) -> bytes:
        context = await self._browser.new_context(viewport=D2H_VIEWPORT, device_scale_factor=2)
        try:
            await context.route("**/*", self._offline)
            page = await context.new_page()
            await page.goto(html.as_uri(), wait_until="load", timeout=120_000)
            await page.wait_for_load_state("networkidle", timeout=3_000)
            return await page.screenshot(type="png", full_page=True, timeout=300_000)
        finally:
            await context.close()

    async def _offline(self, route: Route) -> None:
        """The page's highlight.js theme comes from npm's copy; nothing leaves the machine."""
        url = route.request.url
        if url.startswith("file:"):
            await route.continue_()
        elif url.endswith("/github.min.css"):
            await route.fulfill(path=self._theme, content_type="text/css")
        else:
            await route.abort()


async def launch_browser() -> tuple[Playwright, Browser]:
    """Playwright and a Chromium launched as the host launches it (stop both when done)."""
    path = find_chromium()
    if path is None:
        raise RuntimeError("Chromium is not installed")
    pw = await async_playwright().start()
    browser = await pw.chromium.launch(executable_path=path, args=list(CHROMIUM_ARGS))
    return pw, browser


# --- screenshots ----------------------------------------------------------------------------


def screenshot_app() -> Starlette:
    """A small page to photograph, served on loopback."""

    async def page(_: object) -> HTMLResponse:
        return HTMLResponse(SCREENSHOT_PAGE)

    return Starlette(routes=[WebRoute("/", page)])


PAUSE = 0.3  # seconds between warm shots: a person asks for them seconds apart


@dataclass(frozen=True)
class ShotTimes:
    """One cold shot (Chromium launched for it) and the warm ones after it, in seconds."""

    cold: float
    warm_mobile: list[float]  # each after a pause, as a person asks for the next one
    warm_desktop: list[float]
    burst_mobile: list[float]  # back to back: each also waits for the last one's clean-up
    burst_desktop: list[float]
    before_mobile: list[float]  # the path before issue 15, on the same browser
    before_desktop: list[float]


async def time_screenshots(url: str, warm: int) -> ShotTimes:
    """A new `Screenshotter`: its first mobile shot, then `warm` mobile and desktop shots,
    each after a pause, and as many back to back; then, with a Chromium launched the same
    way, as many shots taken as before issue 15."""
    async with Screenshotter() as shooter:
        cold = await _timed_shot(shooter, url, "mobile")
        mobile = [await _timed_shot(shooter, url, "mobile", PAUSE) for _ in range(warm)]
        desktop = [await _timed_shot(shooter, url, "desktop", PAUSE) for _ in range(warm)]
        burst_mobile = [await _timed_shot(shooter, url, "mobile") for _ in range(warm)]
        burst_desktop = [await _timed_shot(shooter, url, "desktop") for _ in range(warm)]
    pw, browser = await launch_browser()
    try:
        await _timed_old_shot(browser, url, "mobile")  # its cold shot, not counted
        before_mobile = [await _timed_old_shot(browser, url, "mobile") for _ in range(warm)]
        before_desktop = [await _timed_old_shot(browser, url, "desktop") for _ in range(warm)]
    finally:
        await browser.close()
        await pw.stop()
    return ShotTimes(
        cold, mobile, desktop, burst_mobile, burst_desktop, before_mobile, before_desktop
    )


async def _timed_old_shot(browser: Browser, url: str, viewport: str) -> float:
    """The shot before issue 15: a new context and page, load, network idle, fonts, JPEG."""
    start = time.perf_counter()
    context = await browser.new_context(**VIEWPORTS[viewport])
    try:
        page = await context.new_page()
        await page.goto(url, wait_until="load")
        await page.wait_for_load_state("networkidle", timeout=3_000)
        await page.evaluate("document.fonts ? document.fonts.ready.then(() => true) : true")
        await page.screenshot(type="jpeg", quality=80)
    finally:
        await context.close()
    return time.perf_counter() - start


async def _timed_shot(shooter: Screenshotter, url: str, viewport: str, pause: float = 0.0) -> float:
    await asyncio.sleep(pause)
    start = time.perf_counter()
    (shot,) = await shooter.shoot(url, viewports=(viewport,))
    seconds = time.perf_counter() - start
    if shot.width not in (780, 1440, 2160):
        raise RuntimeError(f"unexpected screenshot width {shot.width}")
    return seconds


def scratch_dir() -> tempfile.TemporaryDirectory[str]:
    """A temporary folder for one benchmark's repositories and pages."""
    return tempfile.TemporaryDirectory(prefix="bench-visuals-")

"""Screenshots of a real page on loopback with the system Chromium."""

from __future__ import annotations

import io
import os
import signal
import socket
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from cockpit.host.visuals import Action, ScreenshotError, Screenshotter, Shot
from cockpit.pictures.composite import side_by_side
from tests.requirements import require_chromium

pytestmark = pytest.mark.chromium


def picture(shot: Shot) -> Image.Image:
    image = Image.open(io.BytesIO(shot.jpeg))
    image.load()
    return image.convert("RGB")


def keep(name: str, data: bytes) -> None:
    """Leave a copy in /tmp to look at by eye."""
    Path(f"/tmp/visuals-{name}").write_bytes(data)


def red_pixels(image: Image.Image) -> int:
    colours = image.getcolors(image.width * image.height) or []
    return sum(n for n, (r, g, b) in colours if r > 200 and g < 60 and b < 60)


async def test_mobile_and_desktop_sizes_from_one_browser(page_url: str) -> None:
    """Mobile is 780 px wide (390 CSS px at 2×), desktop 2,160 px (1,440 at 1.5×); one launch
    serves every shot."""
    require_chromium()
    async with Screenshotter() as shooter:
        mobile, desktop = await shooter.shoot(page_url, viewports=["mobile", "desktop"])
        (again,) = await shooter.shoot(page_url)
        (full,) = await shooter.shoot(page_url, full_page=True)
        assert shooter.launches == 1
    assert (mobile.width, desktop.width, again.width) == (780, 2160, 780)
    assert mobile.jpeg[:2] == b"\xff\xd8" and mobile.content_type == "image/jpeg"
    assert max(ImageStat.Stat(picture(mobile)).stddev) > 5  # not a blank page
    assert full.height > mobile.height * 2
    assert all(len(shot.jpeg) < 5_000_000 for shot in (mobile, desktop, full))
    assert mobile.status == 200


async def test_dark_and_light_colour_schemes_differ(page_url: str) -> None:
    """prefers-color-scheme is emulated: dark gives a dark background, light a white one."""
    require_chromium()
    async with Screenshotter() as shooter:
        (light,) = await shooter.shoot(page_url, color_scheme="light")
        (dark,) = await shooter.shoot(page_url, color_scheme="dark")
    light_bg = picture(light).getpixel((5, 5))
    dark_bg = picture(dark).getpixel((5, 5))
    assert isinstance(light_bg, tuple) and isinstance(dark_bg, tuple)
    assert min(light_bg) > 240
    assert max(dark_bg) < 40
    keep("shot-dark.jpg", dark.jpeg)


async def test_click_and_type_change_the_picture(page_url: str) -> None:
    """Clicking a button by its text opens the red panel; typing changes the page."""
    require_chromium()
    async with Screenshotter() as shooter:
        (before,) = await shooter.shoot(page_url, viewports=["desktop"])
        (clicked,) = await shooter.shoot(
            page_url, viewports=["desktop"], actions=[Action.click("Show panel")]
        )
        (typed,) = await shooter.shoot(
            page_url,
            viewports=["desktop"],
            actions=[Action.type("#name", "Zed was here"), Action.wait(ms=50)],
        )
    assert red_pixels(picture(before)) == 0
    assert red_pixels(picture(clicked)) > 100_000
    assert ImageChops.difference(picture(before), picture(typed)).getbbox() is not None


async def test_errors_are_plain_sentences(page_url: str) -> None:
    """An unreachable page, a missing element and a wait that never ends raise ScreenshotError."""
    require_chromium()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/"  # closed again: nothing listens
    async with Screenshotter(timeout_ms=1500) as shooter:
        with pytest.raises(ScreenshotError, match="nothing answers there"):
            await shooter.shoot(dead)
        with pytest.raises(ScreenshotError, match="Nothing on the page matches 'No such button'"):
            await shooter.shoot(page_url, actions=[Action.click("No such button")])
        with pytest.raises(ScreenshotError, match="'#never' did not appear"):
            await shooter.shoot(page_url, actions=[Action.wait(selector="#never")])
        with pytest.raises(ScreenshotError, match="Unknown viewport"):
            await shooter.shoot(page_url, viewports=["tablet"])
        (shot,) = await shooter.shoot(page_url)  # the browser survived the failures
    assert shot.width == 780


def chromium_browsers_of_this_test() -> list[int]:
    """Main Chromium processes started (through Playwright) by this test process."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--remote-debugging-pipe" in cmd and not any(a.startswith(b"--type=") for a in cmd):
            found.append(pid)
    return found


async def test_a_dead_browser_is_launched_again(page_url: str) -> None:
    """When Chromium dies, the next shot launches a new one instead of failing."""
    require_chromium()
    async with Screenshotter() as shooter:
        await shooter.shoot(page_url)
        browsers = chromium_browsers_of_this_test()
        assert len(browsers) == 1
        os.kill(browsers[0], signal.SIGKILL)
        (shot,) = await shooter.shoot(page_url)
        assert shooter.launches == 2
    assert shot.width == 780


async def test_side_by_side_composite(page_url: str) -> None:
    """Mobile and desktop shots become one labelled JPEG at a common height, under 5 MB."""
    require_chromium()
    async with Screenshotter() as shooter:
        shots = await shooter.shoot(page_url, viewports=["mobile", "desktop"])
    composite = side_by_side(shots)

    image = Image.open(io.BytesIO(composite.jpeg))
    assert image.format == "JPEG" and len(composite.jpeg) < 5_000_000
    assert (image.width, image.height) == (composite.width, composite.height)
    mobile_w = round(780 * 1350 / 1688)  # mobile scaled to the desktop's 1,350 px height
    assert composite.width == 40 + mobile_w + 48 + 2160 + 40
    assert composite.height == 40 + 72 + 1350 + 40
    keep("composite.jpg", composite.jpeg)

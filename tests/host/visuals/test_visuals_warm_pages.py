"""Warm screenshot pages: kept between shots, yet no shot sees another's state or misses
what the app loads just after its load event."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from cockpit.host.visuals import Screenshotter, Shot
from tests.requirements import require_chromium

pytestmark = pytest.mark.chromium

# Red once it has seen itself before (localStorage or cookie), white the first time.
REMEMBERS = """<!doctype html><html><body style="margin:0;height:100vh">
<script>
  if (localStorage.getItem("seen") || sessionStorage.getItem("seen")
      || document.cookie.includes("seen=1")) document.body.style.background = "#ff0000";
  localStorage.setItem("seen", "1"); sessionStorage.setItem("seen", "1");
  document.cookie = "seen=1; max-age=3600";
</script></body></html>"""

# Turns red when data fetched shortly after the load event arrives (as a SPA does).
FETCHES_AFTER_LOAD = """<!doctype html><html><body style="margin:0;height:100vh">
<script>
  addEventListener("load", () => setTimeout(() => fetch("data.json").then(r => r.json())
    .then(d => { document.body.style.background = d.colour; }), 60));
</script></body></html>"""

# The same on a machine so busy that the app's timer runs late: here the app keeps its
# own page busy for 300 ms just before the timer is due.
FETCHES_LATE = """<!doctype html><html><body style="margin:0;height:100vh">
<script>
  addEventListener("load", () => {
    setTimeout(() => { const t = performance.now(); while (performance.now() - t < 300); }, 0);
    setTimeout(() => fetch("data.json").then(r => r.json())
      .then(d => { document.body.style.background = d.colour; }), 60);
  });
</script></body></html>"""


def red_share(shot: Shot) -> float:
    """The share of the picture's pixels that are red."""
    image = Image.open(io.BytesIO(shot.jpeg)).convert("RGB").resize((60, 60))
    colours = image.getcolors(3600) or []
    return sum(n for n, (r, g, b) in colours if r > 200 and g < 60 and b < 60) / 3600


def site_page(tmp_path: Path, page_url: str, name: str, html: str) -> str:
    """Add a page to the test site; returns its URL."""
    (tmp_path / "site" / name).write_text(html, encoding="utf-8")
    return page_url.replace("index.html", name)


async def test_a_kept_page_forgets_the_last_shots_cookies_and_storage(
    tmp_path: Path, page_url: str
) -> None:
    """Shots on the one warm page each see the app as a first-time visitor does."""
    require_chromium()
    url = site_page(tmp_path, page_url, "remembers.html", REMEMBERS)
    async with Screenshotter() as shooter:
        shots = [(await shooter.shoot(url, viewports=[v]))[0] for v in ("mobile",) * 3]
        (desktop,) = await shooter.shoot(url, viewports=["desktop"])
        assert shooter.launches == 1
    assert [red_share(s) for s in [*shots, desktop]] == [0.0] * 4


@pytest.mark.parametrize("html", [FETCHES_AFTER_LOAD, FETCHES_LATE], ids=["on-time", "late"])
async def test_data_fetched_just_after_load_is_in_the_picture(
    tmp_path: Path, page_url: str, html: str
) -> None:
    """A request the app starts right after its load event is waited for, even when a
    busy machine runs the app's timer late."""
    require_chromium()
    (tmp_path / "site" / "data.json").write_text('{"colour": "#ff0000"}')
    url = site_page(tmp_path, page_url, "fetches.html", html)
    async with Screenshotter() as shooter:
        for viewport in ("mobile", "desktop", "mobile"):
            (shot,) = await shooter.shoot(url, viewports=[viewport])
            assert red_share(shot) > 0.9

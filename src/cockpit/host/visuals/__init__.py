"""Pictures for code review on a phone: diff images, screenshots, composites, dev server.

The host calls:

* `render_changes(repo, rev_range=None) -> DiffBundle` and `show_file(repo, query)`
  (sync, CPU bound: run them with `asyncio.to_thread`);
* `Screenshotter` (one per host, `async with`) and its `shoot(url, ...) -> list[Shot]`;
* `side_by_side(shots) -> CompositeImage`;
* `DevServer(workdir)` to find, start, probe and stop the project's dev server.

Every picture has `.data`, `.content_type`, `.filename` and `.caption`, and is
under 5 MB (WhatsApp's media limit).
"""

from cockpit.host.visuals.actions import Action
from cockpit.host.visuals.composite import CompositeImage, side_by_side
from cockpit.host.visuals.describe import RenderedImage
from cockpit.host.visuals.devserver import DevCommand, DevServer, detect
from cockpit.host.visuals.diff_image import render_file_diff
from cockpit.host.visuals.errors import DevServerError, GitError, ScreenshotError, VisualsError
from cockpit.host.visuals.gitdiff import read_changes
from cockpit.host.visuals.matching import match_file
from cockpit.host.visuals.overview import DiffBundle, render_changes, show_file
from cockpit.host.visuals.patch import DiffLine, FileDiff, Hunk
from cockpit.host.visuals.screenshot import Screenshotter, Shot

__all__ = [
    "Action",
    "CompositeImage",
    "DevCommand",
    "DevServer",
    "DevServerError",
    "DiffBundle",
    "DiffLine",
    "FileDiff",
    "GitError",
    "Hunk",
    "RenderedImage",
    "ScreenshotError",
    "Screenshotter",
    "Shot",
    "VisualsError",
    "detect",
    "match_file",
    "read_changes",
    "render_changes",
    "render_file_diff",
    "show_file",
    "side_by_side",
]

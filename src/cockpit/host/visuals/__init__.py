"""Pictures for code review on a phone: git changes, screenshots, the dev server.

The drawing itself is `cockpit.pictures` (pure); this package runs git, Chromium and
the dev server, and feeds it. The host calls:

* `render_changes(repo, rev_range=None) -> DiffBundle` and `show_file(repo, query)`
  (sync, CPU bound: run them with `asyncio.to_thread`);
* `Screenshotter` (one per host, `async with`) and its `shoot(url, ...) -> list[Shot]`
  (`cockpit.pictures.composite.side_by_side` puts them in one picture);
* `DevServer(workdir)` to find, start, probe and stop the project's dev server.
"""

from cockpit.host.visuals.actions import Action
from cockpit.host.visuals.devserver import DevCommand, DevServer, detect
from cockpit.host.visuals.errors import DevServerError, GitError, ScreenshotError, VisualsError
from cockpit.host.visuals.gitdiff import read_changes
from cockpit.host.visuals.matching import match_file
from cockpit.host.visuals.overview import DiffBundle, render_changes, show_file
from cockpit.host.visuals.screenshot import Screenshotter, Shot

__all__ = [
    "Action",
    "DevCommand",
    "DevServer",
    "DevServerError",
    "DiffBundle",
    "GitError",
    "ScreenshotError",
    "Screenshotter",
    "Shot",
    "VisualsError",
    "detect",
    "match_file",
    "read_changes",
    "render_changes",
    "show_file",
]

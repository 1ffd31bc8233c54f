"""What the phone gets for "show me the changes": file pictures, or one overview.

`render_changes(repo)` reads the changes with git and returns a `DiffBundle`:
up to 5 changed files give one or more pictures per file; more than 5 give a
single overview picture (every file with a diffstat bar, the totals, and the
hint "Reply *show <file>* for a file's diff"). `show_file(repo, query)` answers
that reply, finding the file with `match_file`'s loose matching.

Rendering is CPU work (about 0.1 s a page): call these through
`asyncio.to_thread` from async code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cockpit.host.visuals.gitdiff import read_changes
from cockpit.host.visuals.matching import match_file
from cockpit.pictures.describe import MINUS, RenderedImage
from cockpit.pictures.diff_image import render_file_diff
from cockpit.pictures.overview_image import render_overview
from cockpit.pictures.patch import FileDiff
from cockpit.pictures.stacked import stack_small

MAX_FILES_SHOWN = 5
HINT = "Reply *show <file>* for a file's diff"

__all__ = ["HINT", "DiffBundle", "match_file", "render_changes", "show_file", "summary"]


@dataclass(frozen=True)
class DiffBundle:
    """Pictures and words to send for a set of changes."""

    images: list[RenderedImage]
    text: str
    files: list[str] = field(default_factory=list)


def render_changes(repo: Path, rev_range: str | None = None, *, width_px: int = 1500) -> DiffBundle:
    """The pictures of the changes in `repo` (working tree vs HEAD, or `rev_range`)."""
    diffs = read_changes(repo, rev_range)
    paths = [fd.path for fd in diffs]
    if not diffs:
        return DiffBundle([], _nothing(rev_range), [])
    if len(diffs) > MAX_FILES_SHOWN:
        image = render_overview(diffs, title=_what(rev_range), hint=HINT, width_px=width_px)
        return DiffBundle([image], f"{summary(diffs)}\n{HINT}", paths)
    images = stack_small([img for fd in diffs for img in render_file_diff(fd, width_px=width_px)])
    return DiffBundle(images, f"{summary(diffs)}: {', '.join(paths)}", paths)


def show_file(
    repo: Path, query: str, rev_range: str | None = None, *, width_px: int = 1500
) -> DiffBundle:
    """The pictures of the one changed file that `query` names (loosely), or a helpful text."""
    diffs = read_changes(repo, rev_range)
    paths = [fd.path for fd in diffs]
    found = match_file(query, paths)
    if found is None:
        listing = ", ".join(paths[:20]) + (" …" if len(paths) > 20 else "")
        text = f"No changed file matches '{query.strip()}'."
        return DiffBundle([], f"{text} Changed: {listing}" if paths else text, paths)
    fd = next(d for d in diffs if d.path == found)
    return DiffBundle(render_file_diff(fd, width_px=width_px), summary([fd]), paths)


def summary(diffs: list[FileDiff]) -> str:
    """`3 files changed, +40 −12` (binary files count as files, not lines)."""
    adds = sum(fd.additions for fd in diffs)
    dels = sum(fd.deletions for fd in diffs)
    noun = "file" if len(diffs) == 1 else "files"
    return f"{len(diffs)} {noun} changed, +{adds:,} {MINUS}{dels:,}"


def _what(rev_range: str | None) -> str:
    return "working tree vs HEAD" if rev_range is None else rev_range


def _nothing(rev_range: str | None) -> str:
    if rev_range is None:
        return "No changes: the working tree matches the last commit."
    return f"No changes in {rev_range}."

"""Words about a changed file: status line, sizes, image captions and file names.

Shared by the diff pictures, the overview and the text sent with them, so the
phone reads the same words everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cockpit.pictures.patch import FileDiff

MINUS = "\u2212"  # a real minus sign: as wide as the plus, unlike a hyphen


@dataclass(frozen=True)
class RenderedImage:
    """One picture ready to send: PNG bytes, a file name and the caption to show under it."""

    png: bytes
    filename: str
    caption: str
    width: int
    height: int

    content_type = "image/png"

    @property
    def data(self) -> bytes:
        """The encoded image (same as `png`; screenshots offer `data` too)."""
        return self.png


def human_size(size: int | None) -> str:
    """A byte count the way people say it: 812 B, 12 KB, 1.4 MB."""
    if size is None:
        return "?"
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def counts(fd: FileDiff) -> str:
    """`+12 −3` for a text file; empty for a binary one."""
    return "" if fd.binary else f"+{fd.additions:,} {MINUS}{fd.deletions:,}"


def status_line(fd: FileDiff) -> str:
    """What happened to the file in a few words: new file, deleted, renamed from …"""
    parts: list[str] = []
    if fd.binary:
        parts.append(_binary_words(fd))
    elif fd.status in ("added", "deleted"):
        parts.append("new file" if fd.status == "added" else "deleted")
    if fd.old_path:
        parts.append(f"renamed from {fd.old_path}")
    if fd.old_mode and fd.new_mode and fd.old_mode != fd.new_mode:
        parts.append(f"mode {fd.old_mode} → {fd.new_mode}")
    if fd.encoding != "utf-8":
        parts.append(f"shown as {fd.encoding}")
    return " · ".join(parts)


def caption(fd: FileDiff, page: int = 1, pages: int = 1) -> str:
    """The caption under a file's picture, e.g. `src/app.ts +12 −3 (1/2)`."""
    words = [fd.path]
    words += [counts(fd)] if not fd.binary else []
    status = status_line(fd)
    text = " ".join(words) + (f", {status}" if status else "")
    return f"{text} ({page}/{pages})" if pages > 1 else text


def image_filename(path: str, page: int = 1, pages: int = 1, *, ext: str = "png") -> str:
    """A safe file name for a picture of `path`, e.g. `diff-src_app.ts-1of2.png`."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", path).strip("_")[-80:] or "file"
    suffix = f"-{page}of{pages}" if pages > 1 else ""
    return f"diff-{slug}{suffix}.{ext}"


def _binary_words(fd: FileDiff) -> str:
    if fd.old_size is None and fd.new_size is not None:
        return f"binary file added, {human_size(fd.new_size)}"
    if fd.new_size is None and fd.old_size is not None:
        return f"binary file deleted, {human_size(fd.old_size)}"
    return f"binary file, {human_size(fd.old_size)} → {human_size(fd.new_size)}"

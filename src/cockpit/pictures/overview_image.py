"""Draw the overview picture: every changed file with its diffstat bar, and the totals."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from cockpit.pictures import theme
from cockpit.pictures.describe import MINUS, RenderedImage, human_size
from cockpit.pictures.fonts import Font, draw_text, load_font
from cockpit.pictures.patch import FileDiff

MAX_ROWS = 60
_BADGES = {
    "added": ("A", theme.GREEN),
    "modified": ("M", "#9a6700"),
    "deleted": ("D", theme.RED),
    "renamed": ("R", "#0969da"),
    "binary": ("B", "#6e7781"),
}


def render_overview(
    diffs: list[FileDiff], *, title: str, hint: str, width_px: int = 1500
) -> RenderedImage:
    """One PNG listing every file of `diffs` with `+N −M` and a proportional bar."""
    s = width_px / 1500
    shown = diffs[:MAX_ROWS]
    row_h, top = round(58 * s), round(150 * s)
    extra = 1 if len(diffs) > len(shown) else 0
    height = top + (len(shown) + extra) * row_h + round(110 * s)
    image = Image.new("RGB", (width_px, height), theme.BACKGROUND)
    draw = ImageDraw.Draw(image)
    _draw_top(draw, diffs, title, width_px, top, s)
    widest = max((fd.changed_lines for fd in shown), default=0) or 1
    for n, fd in enumerate(shown):
        _draw_file(draw, fd, top + n * row_h, row_h, width_px, widest, s)
    y = top + len(shown) * row_h
    if extra:
        more = f"… and {len(diffs) - len(shown)} more files"
        _label(draw, (40 * s, y + 12 * s), more, load_font("sans", round(26 * s)), theme.MUTED)
        y += row_h
    _draw_hint(draw, hint, y, width_px, s)
    draw.rectangle((0, 0, width_px - 1, height - 1), outline=theme.BORDER, width=2)
    buf = io.BytesIO()
    image.save(buf, "PNG", compress_level=6)
    caption = f"{len(diffs)} files changed: overview"
    return RenderedImage(buf.getvalue(), "diff-overview.png", caption, width_px, height)


def _draw_top(
    draw: ImageDraw.ImageDraw, diffs: list[FileDiff], title: str, w: int, top: int, s: float
) -> None:
    draw.rectangle((0, 0, w, top), fill=theme.HEADER_BG)
    draw.line((0, top - 1, w, top - 1), fill=theme.BORDER, width=2)
    big = load_font("sans-bold", round(38 * s))
    x = 40 * s
    heading = f"{len(diffs)} files changed"
    _label(draw, (x, 30 * s), heading, big, theme.TEXT)
    x += float(big.getlength(heading)) + 30 * s
    adds, dels = sum(fd.additions for fd in diffs), sum(fd.deletions for fd in diffs)
    for text, color in ((f"+{adds:,}", theme.GREEN), (f"{MINUS}{dels:,}", theme.RED)):
        _label(draw, (x, 30 * s), text, big, color)
        x += float(big.getlength(text)) + 20 * s
    _label(draw, (40 * s, 92 * s), title, load_font("sans", round(26 * s)), theme.MUTED)


def _draw_file(
    draw: ImageDraw.ImageDraw,
    fd: FileDiff,
    y: int,
    h: int,
    w: int,
    widest: int,
    s: float,
) -> None:
    draw.line((0, y + h - 1, w, y + h - 1), fill="#eaeef2", width=1)
    letter, color = _BADGES[fd.status]
    badge = load_font("mono-bold", round(24 * s))
    box = (40 * s, y + 12 * s, 74 * s, y + h - 12 * s)
    draw.rounded_rectangle(box, radius=round(6 * s), outline=color, width=max(1, round(2 * s)))
    _label(draw, (49 * s, y + 14 * s), letter, badge, color)
    bar_w, stats_w = 220 * s, 230 * s
    right = w - 40 * s
    bar_x = right - bar_w
    mono = load_font("mono", round(25 * s))
    path_w = bar_x - stats_w - 100 * s
    _label(draw, (96 * s, y + 14 * s), _ellipsize_start(fd.path, mono, path_w), mono, theme.TEXT)
    _draw_stats(draw, fd, bar_x - 20 * s, y + 14 * s, s)
    _draw_bar(draw, fd, bar_x, y + h / 2, bar_w, widest, s)


def _draw_stats(draw: ImageDraw.ImageDraw, fd: FileDiff, right: float, y: float, s: float) -> None:
    font = load_font("sans-bold", round(24 * s))
    if fd.binary:
        text = f"bin {human_size(fd.new_size if fd.new_size is not None else fd.old_size)}"
        _label(draw, (right - float(font.getlength(text)), y), text, font, theme.MUTED)
        return
    dels = f"{MINUS}{fd.deletions:,}"
    adds = f"+{fd.additions:,}"
    x = right - float(font.getlength(dels))
    _label(draw, (x, y), dels, font, theme.RED)
    x -= float(font.getlength(adds)) + 14 * s
    _label(draw, (x, y), adds, font, theme.GREEN)


def _draw_bar(
    draw: ImageDraw.ImageDraw, fd: FileDiff, x: float, mid: float, w: float, widest: int, s: float
) -> None:
    half = 9 * s
    draw.rectangle((x, mid - half, x + w, mid + half), fill="#eaeef2")
    green = w * fd.additions / widest
    red = w * fd.deletions / widest
    if green:
        draw.rectangle((x, mid - half, x + green, mid + half), fill=theme.GREEN)
    if red:
        draw.rectangle((x + green, mid - half, x + green + red, mid + half), fill=theme.RED)


def _draw_hint(draw: ImageDraw.ImageDraw, hint: str, y: float, w: int, s: float) -> None:
    plain = load_font("sans", round(28 * s))
    bold = load_font("mono-bold", round(28 * s))
    x, y = 40 * s, y + 36 * s
    # "Reply *show <file>* for …": the starred part is what to type, drawn in bold
    for n, part in enumerate(hint.split("*")):
        font = bold if n % 2 else plain
        _label(draw, (x, y), part, font, theme.TEXT)
        x += float(font.getlength(part))


def _ellipsize_start(text: str, font: Font, max_w: float) -> str:
    if float(font.getlength(text)) <= max_w:
        return text
    while len(text) > 1 and float(font.getlength("…" + text)) > max_w:
        text = text[1:]
    return "…" + text


def _label(
    draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, font: Font, fill: str
) -> None:
    draw_text(draw, xy, text, font, fill)

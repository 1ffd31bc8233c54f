"""The header band of a file's picture: path, `+N −M`, diffstat, status and page."""

from __future__ import annotations

from PIL import ImageDraw

from cockpit.pictures import theme
from cockpit.pictures.describe import MINUS, status_line
from cockpit.pictures.fonts import Font, draw_text, load_font
from cockpit.pictures.patch import FileDiff

_MAX_TITLE_LINES = 3


def header_height(fd: FileDiff, width: int, scale: float) -> int:
    """Pixel height of the header for `fd` at this width."""
    title_lines = len(_title_lines(fd.path, _title_font(scale), width - 2 * _pad(scale)))
    return round(_pad(scale) * 2 + title_lines * 40 * scale + 12 * scale + 38 * scale)


def draw_header(
    draw: ImageDraw.ImageDraw, fd: FileDiff, width: int, scale: float, page: int, pages: int
) -> None:
    """Draw the header band at the top of the picture."""
    pad = _pad(scale)
    bottom = header_height(fd, width, scale)
    draw.rectangle((0, 0, width, bottom), fill=theme.HEADER_BG)
    draw.line((0, bottom - 1, width, bottom - 1), fill=theme.BORDER, width=2)
    font = _title_font(scale)
    y = pad
    for line in _title_lines(fd.path, font, width - 2 * pad):
        draw_text(draw, (pad, y), line, font, theme.TEXT)
        y += 40 * scale
    _draw_stats(draw, fd, pad, y + 12 * scale, width - pad, scale, page, pages)


def _draw_stats(
    draw: ImageDraw.ImageDraw,
    fd: FileDiff,
    x: float,
    y: float,
    right: float,
    scale: float,
    page: int,
    pages: int,
) -> None:
    bold = load_font("sans-bold", round(26 * scale))
    plain = load_font("sans", round(25 * scale))
    if pages > 1:
        label = f"({page}/{pages})"
        right -= float(bold.getlength(label))
        draw.text((right, y), label, font=bold, fill=theme.MUTED)
        right -= 24 * scale
    if not fd.binary:
        x = _draw_counts(draw, fd, x, y, bold, scale)
    status = status_line(fd)
    if status:
        draw_text(draw, (x, y), _fit(status, plain, right - x), plain, theme.MUTED)


def _draw_counts(
    draw: ImageDraw.ImageDraw, fd: FileDiff, x: float, y: float, font: Font, scale: float
) -> float:
    for text, color in (
        (f"+{fd.additions:,}", theme.GREEN),
        (f"{MINUS}{fd.deletions:,}", theme.RED),
    ):
        draw.text((x, y), text, font=font, fill=color)
        x += float(font.getlength(text)) + 14 * scale
    box, gap = 20 * scale, 4 * scale
    top = y + 6 * scale
    for color in diffstat_blocks(fd.additions, fd.deletions):
        draw.rectangle((x, top, x + box, top + box), fill=color)
        x += box + gap
    return x + 20 * scale


def diffstat_blocks(additions: int, deletions: int, blocks: int = 5) -> list[str]:
    """GitHub's five little squares: green for additions, red for deletions, grey rest."""
    total = additions + deletions
    if total == 0:
        return [theme.NEUTRAL] * blocks
    green = round(blocks * additions / total)
    red = min(blocks - green, round(blocks * deletions / total))
    if total < blocks:  # a one-line change should not look like a rewrite
        green, red = min(green, additions), min(red, deletions)
    return [theme.GREEN] * green + [theme.RED] * red + [theme.NEUTRAL] * (blocks - green - red)


def _title_lines(path: str, font: Font, max_w: float) -> list[str]:
    lines: list[str] = []
    rest = path
    while rest and len(lines) < _MAX_TITLE_LINES:
        n = len(rest)
        while n > 1 and float(font.getlength(rest[:n])) > max_w:
            n -= 1
        if n < len(rest) and "/" in rest[1:n]:
            n = rest.rindex("/", 1, n) + 1
        lines.append(rest[:n])
        rest = rest[n:]
    if rest:
        lines[-1] = "…" + lines[-1][1:]
    return lines or [""]


def _fit(text: str, font: Font, max_w: float) -> str:
    if float(font.getlength(text)) <= max_w:
        return text
    while len(text) > 1 and float(font.getlength(text + "…")) > max_w:
        text = text[:-1]
    return text + "…"


def _title_font(scale: float) -> Font:
    return load_font("mono-bold", round(28 * scale))


def _pad(scale: float) -> float:
    return 24 * scale

"""Colours of the pictures (GitHub's light theme) and a font measuring helper."""

from __future__ import annotations

from PIL import ImageFont

from cockpit.pictures.fonts import Font

BACKGROUND = "#ffffff"
TEXT = "#1f2328"
MUTED = "#59636e"
LINE_NO = "#6e7781"
BORDER = "#d0d7de"
HEADER_BG = "#f6f8fa"
HUNK_BG = "#ddf4ff"
HUNK_GUTTER = "#b6e3ff"
GREEN = "#1a7f37"
RED = "#cf222e"
NEUTRAL = "#d0d7de"

# line kind -> (code background, gutter background)
LINE_COLORS: dict[str, tuple[str, str]] = {
    "+": ("#e6ffec", "#ccffd8"),
    "-": ("#ffebe9", "#ffd7d5"),
    " ": (BACKGROUND, BACKGROUND),
}
# darker background behind the characters that changed within a line
EMPH: dict[str, str] = {"+": "#abf2bc", "-": "#ffc1c0", " ": BACKGROUND}
MARKER: dict[str, str] = {"+": GREEN, "-": RED, " ": LINE_NO}


def font_extent(font: Font) -> tuple[int, int]:
    """(ascent, descent) of `font` in pixels, for centring text in a row."""
    if isinstance(font, ImageFont.FreeTypeFont):
        return font.getmetrics()
    bottom = font.getbbox("Ag")[3]
    return int(bottom), 0

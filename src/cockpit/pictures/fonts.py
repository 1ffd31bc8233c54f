"""Find the TrueType fonts the pictures are drawn with.

DejaVu (Debian package `fonts-dejavu-core`) is the font: DejaVu Sans Mono for
code, DejaVu Sans for labels. Lookup order for each face: the Debian path under
/usr/share/fonts/truetype/dejavu/, then `fc-match` (fontconfig) for the same
family, then fontconfig's generic `monospace`/`sans-serif`, and as a last resort
Pillow's built-in font (readable, not monospace).

Characters DejaVu lacks (emoji, CJK) are drawn from a fallback chain found through
fontconfig: Noto Sans Mono CJK / Noto Sans CJK (Debian `fonts-noto-cjk`), then Noto
Color Emoji (`fonts-noto-color-emoji`, a bitmap font drawn in colour and scaled).
`draw_text` picks, per character, the first font of the chain whose character map has
it (read with fontTools); without any, FreeType draws a box and nothing raises.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import unicodedata
from pathlib import Path
from typing import Literal

from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont

from cockpit.log import get_logger

Face = Literal["mono", "mono-bold", "mono-oblique", "sans", "sans-bold"]
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

log = get_logger(__name__)

_DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")
_FILES: dict[Face, str] = {
    "mono": "DejaVuSansMono.ttf",
    "mono-bold": "DejaVuSansMono-Bold.ttf",
    "mono-oblique": "DejaVuSansMono-Oblique.ttf",
    "sans": "DejaVuSans.ttf",
    "sans-bold": "DejaVuSans-Bold.ttf",
}
_FC_PATTERNS: dict[Face, tuple[str, ...]] = {
    "mono": ("DejaVu Sans Mono", "monospace"),
    "mono-bold": ("DejaVu Sans Mono:bold", "monospace:bold"),
    "mono-oblique": ("DejaVu Sans Mono:oblique", "monospace:oblique"),
    "sans": ("DejaVu Sans", "sans-serif"),
    "sans-bold": ("DejaVu Sans:bold", "sans-serif:bold"),
}


@functools.cache
def font_path(face: Face) -> str | None:
    """The TTF file used for `face`, or None when only Pillow's own font is left."""
    debian = _DEJAVU_DIR / _FILES[face]
    if debian.is_file():
        return str(debian)
    for pattern in _FC_PATTERNS[face]:
        found = _fc_match(pattern)
        if found:
            return found
    log.warning("visuals.font_missing", face=face, hint="apt-get install fonts-dejavu-core")
    return None


@functools.cache
def load_font(face: Face, size: int) -> Font:
    """The font for `face` at `size` pixels (cached)."""
    path = font_path(face)
    if path is not None:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def text_width(font: Font, text: str) -> float:
    """How many pixels `text` advances in `font`."""
    return float(font.getlength(text))


def _fc_match(pattern: str) -> str | None:
    if shutil.which("fc-match") is None:
        return None
    try:
        proc = subprocess.run(
            ["fc-match", "--format=%{file}", pattern],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    path = proc.stdout.strip()
    ok = (
        proc.returncode == 0
        and path.lower().endswith((".ttf", ".otf", ".ttc"))
        and Path(path).is_file()
    )
    return path if ok else None


# Tried in order for a character the face itself lacks (fontconfig patterns).
_FALLBACKS = ("Noto Sans Mono CJK SC", "Noto Sans CJK SC", "Noto Color Emoji")
_EMOJI_SIZE = 109  # the one size Noto Color Emoji's bitmaps come in


@functools.cache
def fallback_paths() -> tuple[str, ...]:
    """The fallback fonts present on this machine, in order (duplicates dropped)."""
    found = [path for path in (_fc_match(p) for p in _FALLBACKS) if path]
    if not found:
        log.warning("visuals.no_fallback_fonts", hint="apt-get install fonts-noto-cjk "
                    "fonts-noto-color-emoji")  # fmt: skip
    return tuple(dict.fromkeys(found))


@functools.cache
def _covers(path: str) -> frozenset[int]:
    """The code points font file `path` has glyphs for."""
    try:
        with TTFont(path, fontNumber=0, lazy=True) as font:
            return frozenset(font.getBestCmap() or {})
    except Exception:  # an unreadable font file covers nothing; never fail a picture
        log.warning("visuals.font_unreadable", path=path)
        return frozenset()


def font_for(ch: str, primary: str | None) -> str | None:
    """The font file to draw `ch` with: `primary` if it has it, else the first fallback
    that does; None means "the primary font" (also when nothing has it)."""
    code = ord(ch)
    if primary is None or code < 0x250 or code in _covers(primary) or ch.isspace():
        return None
    return next((path for path in fallback_paths() if code in _covers(path)), None)


@functools.cache
def _fallback_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    if path.endswith("NotoColorEmoji.ttf") or "Emoji" in Path(path).name:
        return ImageFont.truetype(path, _EMOJI_SIZE)
    return ImageFont.truetype(path, size)


def draw_text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    font: Font,
    fill: str,
    cell: float | None = None,
) -> None:
    """Draw `text` at `xy` like `draw.text`, taking each character the font lacks from
    the fallback chain; with `cell`, a fallback character fills 1 or 2 cells of that
    width (the monospace grid of a diff)."""
    primary = getattr(font, "path", None)
    x, y = xy
    run = ""
    for ch in text:
        path = font_for(ch, primary)
        if path is None:
            run += ch
            continue
        if run:
            draw.text((x, y), run, font=font, fill=fill)
            x += float(font.getlength(run))
            run = ""
        x += _draw_fallback(draw, (x, y), ch, path, font, fill, cell)
    if run:
        draw.text((x, y), run, font=font, fill=fill)


def _draw_fallback(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    ch: str,
    path: str,
    font: Font,
    fill: str,
    cell: float | None,
) -> float:
    """Draw one character from fallback font `path`; how far it advances."""
    size = int(getattr(font, "size", 16))
    other = _fallback_font(path, size)
    wide = 2 if ch_is_wide(ch) else 1
    if other.size != _EMOJI_SIZE or size == _EMOJI_SIZE:
        advance = cell * wide if cell else float(other.getlength(ch))
        draw.text(xy, ch, font=other, fill=fill)
        return advance
    glyph = _emoji(path, ch, size)
    advance = cell * wide if cell else float(glyph.width)
    x, y = xy
    target = draw._image  # the picture being drawn on (ImageDraw keeps it)
    target.paste(glyph, (round(x + (advance - glyph.width) / 2), round(y)), glyph)
    return advance


@functools.cache
def _emoji(path: str, ch: str, size: int) -> Image.Image:
    """A colour emoji scaled to `size` px high (drawn at the font's one size first)."""
    font = _fallback_font(path, size)
    left, top, right, bottom = (round(v) for v in font.getbbox(ch))
    canvas = Image.new("RGBA", (max(1, right - left), max(1, bottom - top)), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((-left, -top), ch, font=font, embedded_color=True)
    height = max(1, round(size * 1.05))
    width = max(1, round(canvas.width * height / canvas.height))
    return canvas.resize((width, height), Image.Resampling.LANCZOS)


def ch_is_wide(ch: str) -> bool:
    """Whether `ch` takes two columns of a monospace grid (CJK, most emoji)."""
    return unicodedata.east_asian_width(ch) in ("W", "F")

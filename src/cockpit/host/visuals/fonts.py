"""Find the TrueType fonts the pictures are drawn with.

DejaVu (Debian package `fonts-dejavu-core`) is the font: DejaVu Sans Mono for
code, DejaVu Sans for labels. Lookup order for each face: the Debian path under
/usr/share/fonts/truetype/dejavu/, then `fc-match` (fontconfig) for the same
family, then fontconfig's generic `monospace`/`sans-serif`, and as a last resort
Pillow's built-in font (readable, not monospace). Missing glyphs (emoji, CJK)
are drawn as boxes by FreeType; they never raise.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path
from typing import Literal

from PIL import ImageFont

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
    ok = proc.returncode == 0 and path.lower().endswith((".ttf", ".otf")) and Path(path).is_file()
    return path if ok else None

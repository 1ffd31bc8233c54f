"""Put screenshots side by side in one picture: "Mobile" next to "Desktop".

Each screenshot is scaled to a common height (the smallest of them, at most
`max_height`, so nothing is enlarged and blurred), labelled with its viewport
name above it, framed, and separated by a gutter. The result is a JPEG under
5 MB.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from PIL import Image, ImageDraw

from cockpit.pictures import theme
from cockpit.pictures.fonts import draw_text, load_font
from cockpit.pictures.jpeg import MAX_IMAGE_BYTES, fit_jpeg

CANVAS = "#eef1f4"
MARGIN, GUTTER, LABEL_H = 40, 48, 72


class Shot(Protocol):
    """What a composite needs of one screenshot (the host's `screenshot.Shot` has it)."""

    @property
    def viewport(self) -> str: ...

    @property
    def jpeg(self) -> bytes: ...

    @property
    def url(self) -> str: ...


@dataclass(frozen=True)
class CompositeImage:
    """A JPEG of several screenshots side by side."""

    jpeg: bytes
    width: int
    height: int
    filename: str
    caption: str

    content_type = "image/jpeg"

    @property
    def data(self) -> bytes:
        """The encoded image (same as `jpeg`)."""
        return self.jpeg


def side_by_side(
    shots: Sequence[Shot], *, max_height: int = 1800, max_bytes: int = MAX_IMAGE_BYTES
) -> CompositeImage:
    """One labelled picture of `shots` in order (e.g. mobile, desktop), under `max_bytes`."""
    if not shots:
        raise ValueError("side_by_side needs at least one screenshot")
    images = [_open(shot.jpeg) for shot in shots]
    height = min(max_height, *(image.height for image in images))
    scaled = [_to_height(image, height) for image in images]
    width = 2 * MARGIN + sum(image.width for image in scaled) + GUTTER * (len(scaled) - 1)
    canvas = Image.new("RGB", (width, MARGIN + LABEL_H + height + MARGIN), CANVAS)
    draw = ImageDraw.Draw(canvas)
    font = load_font("sans-bold", 36)
    x = MARGIN
    for shot, image in zip(shots, scaled, strict=True):
        draw_text(draw, (x, MARGIN), shot.viewport.title(), font, theme.TEXT)
        top = MARGIN + LABEL_H
        canvas.paste(image, (x, top))
        draw.rectangle((x - 1, top - 1, x + image.width, top + height), outline=theme.BORDER)
        x += image.width + GUTTER
    data = fit_jpeg(canvas, max_bytes, quality=85)
    out_w, out_h = _open(data).size  # fit_jpeg may have made it smaller
    caption = f"{shots[0].url} · " + " + ".join(shot.viewport for shot in shots)
    return CompositeImage(data, out_w, out_h, "shot-side-by-side.jpg", caption)


def _open(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


def _to_height(image: Image.Image, height: int) -> Image.Image:
    if image.height == height:
        return image
    width = max(1, round(image.width * height / image.height))
    return image.resize((width, height), Image.Resampling.LANCZOS)

"""Small diffs share one picture: their pages stacked top to bottom, one caption that
names every file. A big file (several pages, or a tall page) keeps its own pictures,
so a phone never gets a picture too long to read."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

from PIL import Image

from cockpit.pictures import theme
from cockpit.pictures.describe import RenderedImage

SMALL_HEIGHT = 1400  # a page up to this tall (about 30 rows at 1,500 px) is "small"
MAX_HEIGHT = 3600  # a stacked picture stays below this (WhatsApp shrinks taller ones)
GAP = 24
MAX_CAPTION = 1000
_PAGED = re.compile(r"-\d+of\d+\.\w+$")  # a page of a file drawn on several pages


def stack_small(images: Sequence[RenderedImage]) -> list[RenderedImage]:
    """`images` with each run of small single-page diffs joined into one picture."""
    out: list[RenderedImage] = []
    run: list[RenderedImage] = []
    for image in images:
        small = image.height <= SMALL_HEIGHT and not _PAGED.search(image.filename)
        if small and _height(run) + GAP + image.height <= MAX_HEIGHT:
            run.append(image)
            continue
        out += _flush(run)
        run = [image] if small else []
        if not small:
            out.append(image)
    return out + _flush(run)


def _height(run: Sequence[RenderedImage]) -> int:
    return sum(i.height for i in run) + GAP * max(0, len(run) - 1)


def _flush(run: list[RenderedImage]) -> list[RenderedImage]:
    if len(run) <= 1:
        return list(run)
    width = max(i.width for i in run)
    sheet = Image.new("RGB", (width, _height(run)), theme.BACKGROUND)
    y = 0
    for item in run:
        with Image.open(io.BytesIO(item.png)) as page:
            sheet.paste(page, (0, y))
        y += item.height + GAP
    buf = io.BytesIO()
    sheet.save(buf, "PNG", compress_level=6)
    caption = " · ".join(i.caption for i in run)
    if len(caption) > MAX_CAPTION:
        caption = caption[: MAX_CAPTION - 1] + "…"
    return [RenderedImage(buf.getvalue(), "diff-changes.png", caption, width, sheet.height)]

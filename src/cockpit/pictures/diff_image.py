"""Draw one changed file as PNG pictures that stay readable on a phone.

Looks like GitHub's unified diff: a header with the path, `+N −M`, a diffstat
and what happened (new file, deleted, renamed from …); hunk headers on blue;
old and new line numbers in a gutter; added lines on green, removed on red,
with the changed characters darker; syntax colours by file type. Pictures are
1,500 px wide by default (750 CSS px at 2×) and hold at most 80 rows each; a
longer file becomes several pages marked `(2/3)`. Every PNG is kept under
5 MB (WhatsApp's limit) by halving the rows per page until it fits.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from PIL import Image, ImageDraw

from cockpit.log import get_logger
from cockpit.pictures import theme
from cockpit.pictures.describe import RenderedImage, caption, image_filename
from cockpit.pictures.fonts import Font, draw_text, load_font
from cockpit.pictures.header import draw_header, header_height
from cockpit.pictures.layout import Row, char_cells, file_units, iter_runs, paginate
from cockpit.pictures.patch import FileDiff

MAX_IMAGE_BYTES = 5_000_000
MAX_ROWS_PER_PAGE = 80
MIN_ROWS_PER_PAGE = 10
log = get_logger(__name__)


@dataclass(frozen=True)
class Metrics:
    """Sizes derived from the picture width (designed at 1,500 px)."""

    width: int
    scale: float
    code: Font
    code_italic: Font
    numbers: Font
    char_w: float
    row_h: int
    gutter_w: int
    marker_w: int
    code_x: int
    columns: int

    @classmethod
    def for_file(cls, fd: FileDiff, width: int) -> Metrics:
        """Metrics for `fd` at `width` px: the gutter fits its largest line number."""
        scale = width / 1500
        code = load_font("mono", round(26 * scale))
        numbers = load_font("mono", round(21 * scale))
        char_w = float(code.getlength("0")) or 1.0
        digits = max(3, len(str(_largest_line_no(fd))))
        gutter_w = math.ceil(digits * float(numbers.getlength("0")) + 28 * scale)
        marker_w = math.ceil(char_w * 1.8)
        code_x = 2 * gutter_w + marker_w
        columns = max(10, int((width - code_x - 16 * scale) // char_w))
        italic = load_font("mono-oblique", round(26 * scale))
        row_h = round(26 * scale * 1.5)
        return cls(
            width, scale, code, italic, numbers, char_w, row_h, gutter_w, marker_w, code_x, columns
        )


def render_file_diff(
    fd: FileDiff,
    *,
    width_px: int = 1500,
    max_rows: int = MAX_ROWS_PER_PAGE,
    max_bytes: int = MAX_IMAGE_BYTES,
) -> list[RenderedImage]:
    """One or more PNG pages picturing the change to one file, each under `max_bytes`."""
    metrics = Metrics.for_file(fd, width_px)
    units = file_units(fd, metrics.columns)
    rows = max_rows
    while True:
        pages = paginate(units, rows)
        images = [_render_page(fd, page, n, len(pages), metrics) for n, page in enumerate(pages, 1)]
        biggest = max(len(image.png) for image in images)
        if biggest <= max_bytes or rows <= MIN_ROWS_PER_PAGE:
            if biggest > max_bytes:
                log.warning("visuals.diff_too_big", path=fd.path, bytes=biggest)
            return images
        rows = max(rows // 2, MIN_ROWS_PER_PAGE)


def _render_page(fd: FileDiff, rows: list[Row], page: int, pages: int, m: Metrics) -> RenderedImage:
    top = header_height(fd, m.width, m.scale)
    body_h = len(rows) * m.row_h if rows else round(110 * m.scale)
    height = top + body_h + round(14 * m.scale)
    image = Image.new("RGB", (m.width, height), theme.BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw_header(draw, fd, m.width, m.scale, page, pages)
    if rows:
        for n, row in enumerate(rows):
            _draw_row(draw, row, top + n * m.row_h, m)
    else:
        _draw_note(draw, fd, top, body_h, m)
    draw.rectangle((0, 0, m.width - 1, height - 1), outline=theme.BORDER, width=2)
    buf = io.BytesIO()
    image.save(buf, "PNG", compress_level=6)
    return RenderedImage(
        png=buf.getvalue(),
        filename=image_filename(fd.path, page, pages),
        caption=caption(fd, page, pages),
        width=m.width,
        height=height,
    )


def _draw_row(draw: ImageDraw.ImageDraw, row: Row, y: int, m: Metrics) -> None:
    if row.kind == "hunk":
        draw.rectangle((0, y, m.width, y + m.row_h), fill=theme.HUNK_BG)
        draw.rectangle((0, y, 2 * m.gutter_w, y + m.row_h), fill=theme.HUNK_GUTTER)
        text = "".join(span.text for span in row.spans)
        _text(draw, m.code_x, y, m.row_h, text, m.numbers, theme.MUTED)
        return
    code_bg, gutter_bg = theme.LINE_COLORS[row.line_kind]
    draw.rectangle((0, y, m.width, y + m.row_h), fill=code_bg)
    draw.rectangle((0, y, 2 * m.gutter_w, y + m.row_h), fill=gutter_bg)
    if row.first:
        _numbers(draw, row, y, m)
    x0 = m.code_x
    for col, span in iter_runs(row.spans):
        x = x0 + col * m.char_w
        if span.emph:
            w = sum(char_cells(ch) for ch in span.text) * m.char_w
            draw.rectangle((x, y + 2, x + w, y + m.row_h - 2), fill=theme.EMPH[row.line_kind])
        font = m.code_italic if span.italic else m.code
        _text(draw, x, y, m.row_h, span.text, font, span.color, cell=m.char_w)


def _numbers(draw: ImageDraw.ImageDraw, row: Row, y: int, m: Metrics) -> None:
    pad = 14 * m.scale
    for no, right in ((row.old_no, m.gutter_w - pad), (row.new_no, 2 * m.gutter_w - pad)):
        if no is not None:
            label = str(no)
            x = right - float(m.numbers.getlength(label))
            _text(draw, x, y, m.row_h, label, m.numbers, theme.LINE_NO)
    if row.line_kind != " ":
        marker = "+" if row.line_kind == "+" else "\u2212"
        x = 2 * m.gutter_w + (m.marker_w - m.char_w) / 2
        _text(draw, x, y, m.row_h, marker, m.code, theme.MARKER[row.line_kind])


def _draw_note(draw: ImageDraw.ImageDraw, fd: FileDiff, top: int, h: int, m: Metrics) -> None:
    font = load_font("sans", round(27 * m.scale))
    _text(draw, round(40 * m.scale), top, h, _note(fd), font, theme.MUTED)


def _note(fd: FileDiff) -> str:
    if fd.binary:
        return "Binary file: its content is not shown."
    if fd.summarized:
        return f"Too large to draw line by line ({fd.changed_lines:,} changed lines)."
    if fd.old_path:
        return "Renamed without changes to its content."
    if fd.old_mode != fd.new_mode and fd.old_mode and fd.new_mode:
        return "Only the file mode changed."
    return "Empty file."


def _text(
    draw: ImageDraw.ImageDraw,
    x: float,
    y: int,
    row_h: int,
    text: str,
    font: Font,
    fill: str,
    cell: float | None = None,
) -> None:
    ascent, descent = theme.font_extent(font)
    draw_text(draw, (x, y + (row_h - ascent - descent) / 2), text, font, fill, cell)


def _largest_line_no(fd: FileDiff) -> int:
    return max(
        (max(h.old_start + h.old_count, h.new_start + h.new_count) for h in fd.hunks), default=0
    )

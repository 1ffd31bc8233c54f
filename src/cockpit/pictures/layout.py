"""Turn a file's hunks into picture rows: wrapped to a column width, split into pages.

Pure: no drawing. A logical diff line wraps onto as many rows as it needs
(breaking after a space or punctuation when one is near, else mid-word); a very
long line (minified code) stops after `MAX_ROWS_PER_LINE` rows with a note of
what was left out. Pages never split a wrapped line or separate a hunk header
from its first line.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from cockpit.pictures.highlight import Span, highlight_hunk, lexer_for
from cockpit.pictures.patch import FileDiff, Hunk, LineKind

MAX_ROWS_PER_LINE = 40
_BREAK_AFTER = frozenset(" ,;)]}>.=+-*/|&:")
_MUTED = "#6e7781"

RowKind = Literal["hunk", "line"]


@dataclass(frozen=True)
class Row:
    """One drawn row: a hunk header, or (part of) a diff line."""

    kind: RowKind
    spans: tuple[Span, ...]
    line_kind: LineKind = " "
    old_no: int | None = None
    new_no: int | None = None
    first: bool = True


def char_cells(ch: str) -> int:
    """Columns a character takes in a monospace grid: 2 for wide (CJK, emoji), else 1."""
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def file_units(fd: FileDiff, columns: int) -> list[list[Row]]:
    """All rows of `fd`, grouped into units that must stay on one page."""
    lexer = lexer_for(fd.path)
    units: list[list[Row]] = []
    for hunk in fd.hunks:
        header = Row("hunk", (Span(_hunk_title(hunk), _MUTED),))
        coloured = highlight_hunk(hunk, lexer)
        for n, (line, spans) in enumerate(zip(hunk.lines, coloured, strict=True)):
            rows = [
                Row("line", tuple(part), line.kind, line.old_no, line.new_no, first=k == 0)
                for k, part in enumerate(wrap(spans, columns))
            ]
            units.append([header, *rows] if n == 0 else rows)
        if not hunk.lines:
            units.append([header])
    return units


def paginate(units: Sequence[list[Row]], max_rows: int) -> list[list[Row]]:
    """Greedy pages of at most `max_rows` rows (a unit taller than that gets a page alone)."""
    pages: list[list[Row]] = [[]]
    for unit in units:
        if pages[-1] and len(pages[-1]) + len(unit) > max_rows:
            pages.append([])
        pages[-1].extend(unit)
    return [page for page in pages if page] or [[]]


def wrap(spans: Sequence[Span], columns: int) -> list[list[Span]]:
    """Split one line's spans into rows of at most `columns` cells; always one row at least."""
    chars = [(ch, span) for span in spans for ch in span.text]
    rows: list[list[tuple[str, Span]]] = []
    start = 0
    while start < len(chars) and len(rows) < MAX_ROWS_PER_LINE:
        end = _row_end(chars, start, columns)
        rows.append(chars[start:end])
        start = end
    if start < len(chars):
        rows.append(
            [(ch, Span(ch, _MUTED, True)) for ch in f"… {len(chars) - start:,} more characters"]
        )
    return [_regroup(row) for row in rows] or [[]]


def _row_end(chars: Sequence[tuple[str, Span]], start: int, columns: int) -> int:
    used = 0
    end = start
    while end < len(chars) and used + char_cells(chars[end][0]) <= max(columns, 2):
        used += char_cells(chars[end][0])
        end += 1
    if end >= len(chars) or end == start:
        return max(end, start + 1)
    for k in range(end, start + max(columns * 2 // 3, 1), -1):
        if chars[k - 1][0] in _BREAK_AFTER:
            return k
    return end


def _regroup(row: Sequence[tuple[str, Span]]) -> list[Span]:
    out: list[Span] = []
    for ch, span in row:
        if out and _same_style(out[-1], span):
            last = out[-1]
            out[-1] = Span(last.text + ch, last.color, last.italic, last.emph)
        else:
            out.append(Span(ch, span.color, span.italic, span.emph))
    return out


def _same_style(a: Span, b: Span) -> bool:
    return (a.color, a.italic, a.emph) == (b.color, b.italic, b.emph)


def _hunk_title(hunk: Hunk) -> str:
    title = f"@@ -{hunk.old_start},{hunk.old_count} +{hunk.new_start},{hunk.new_count} @@"
    return f"{title} {hunk.section}" if hunk.section else title


def iter_runs(spans: Sequence[Span]) -> Iterator[tuple[int, Span]]:
    """(column, span) for each span, splitting out wide characters to their own runs.

    Wide or unusual characters are placed one by one at their grid column, so a
    missing glyph (drawn as a box of another width) cannot shift what follows.
    """
    col = 0
    for span in spans:
        run = ""
        run_col = col
        for ch in span.text:
            if char_cells(ch) == 2 or ord(ch) >= 0x2E80:
                if run:
                    yield run_col, Span(run, span.color, span.italic, span.emph)
                yield col, Span(ch, span.color, span.italic, span.emph)
                col += char_cells(ch)
                run, run_col = "", col
            else:
                run += ch
                col += 1
        if run:
            yield run_col, Span(run, span.color, span.italic, span.emph)

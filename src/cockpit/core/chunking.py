"""Splitting a WhatsApp message body into numbered chunks that each fit Twilio's limit.

Format of a chunk when there are several: a first line `(k/n)`, then the text. A split
inside a code block ends the chunk with a closing fence line and starts the next one
with the block's opening line again (info string included), so every chunk renders.

Exactness: the chunks' texts are slices of the original, in order; only the whitespace
at each split point is dropped (trailing whitespace of the earlier chunk, and blank lines
before the next; the next line's indentation is kept, as code needs it, unless it is
absurdly long). `chunk_bodies` undoes the format, and `unchunk` joins the bodies.

So that `chunk_bodies` can tell an added fence pair from fences of the original, a split
is never placed between a text line that could close a fence and one that could open
one, except inside a code block, where the pair is always added.

Length is counted as Twilio counts it: in UTF-16 code units (an emoji outside the Basic
Multilingual Plane is two), and a split never falls inside a grapheme cluster (one
visible symbol: a flag, a family emoji, a letter with its accents), except when one
cluster alone is longer than a chunk. Internally the text is held with every astral
character as its two surrogates, so that `len` and every offset count UTF-16 units.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum

import regex

from cockpit.core.fences import (
    FenceLine,
    is_closing_like,
    open_fences,
    parse_fence_line,
    starts_like_fence,
)

WHATSAPP_BODY_LIMIT = 1600
MIN_CHUNK_LIMIT = 200
_MAX_KEPT_INDENT = 40
_FENCE_LOOKAHEAD = 256
_MARKER = re.compile(r"\((\d+)/(\d+)\)")
_SPACE = re.compile(r"\s+")
_HEADING_LIKE = re.compile(r"#{1,6}\s.*|\*[^*\s](?:.*[^*\s])?\*")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_CLUSTER = regex.compile(r"\X")


def utf16_length(text: str) -> int:
    """The length of `text` as Twilio counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _wide(text: str) -> str:
    """`text` with each astral character replaced by its UTF-16 surrogate pair."""

    def pair(match: re.Match[str]) -> str:
        code = ord(match.group()) - 0x10000
        return chr(0xD800 + (code >> 10)) + chr(0xDC00 + (code & 0x3FF))

    return _ASTRAL.sub(pair, text)


def _narrow(wide: str) -> str:
    """The text `_wide` made: surrogate pairs joined back into characters."""
    return wide.encode("utf-16-le", "surrogatepass").decode("utf-16-le")


def _cluster_bounds(text: str) -> bytearray:
    """For each UTF-16 offset of `text` (and its end), 1 where a grapheme cluster starts."""
    bounds = bytearray(utf16_length(text) + 1)
    offset = 0
    for cluster in _CLUSTER.findall(text):
        bounds[offset] = 1
        offset += utf16_length(cluster)
    bounds[offset] = 1
    return bounds


class _Kind(IntEnum):
    """Kinds of split point, the preferred first."""

    PARAGRAPH = 0  # a blank line, or the edge of a code block, outside code, not after a heading
    CODE_PARAGRAPH = 1  # a blank line inside a code block
    LINE = 2
    WORD = 3
    HARD = 4  # inside a word too long for a chunk
    AWKWARD = 5  # legal but ugly: an empty code part, a cut inside a fence line


@dataclass(frozen=True)
class _Cut:
    end: int  # this chunk's text ends here
    next: int  # the next chunk's text starts here
    fence: FenceLine | None  # the code block open across the cut
    kind: _Kind

    def cost(self, start: int) -> int:
        """Characters this cut puts in the chunk that started at `start`."""
        closing = len(self.fence.closer) + 1 if self.fence else 0
        return self.end - start + closing


@dataclass(frozen=True)
class _Piece:
    start: int
    end: int
    reopen: str | None
    close: str | None


class _Text:
    """The text to split (in UTF-16 units), its lines, and the code block open before
    each line."""

    def __init__(self, original: str) -> None:
        text = _wide(original)
        self.text = text
        self.bounds = _cluster_bounds(original)
        self.lines = text.split("\n")
        self.starts = [0]
        for line in self.lines[:-1]:
            self.starts.append(self.starts[-1] + len(line) + 1)
        self.fences = open_fences(self.lines)
        self.fence_lines = [parse_fence_line(line) is not None for line in self.lines]
        leading = _SPACE.match(text)
        self.start = self.resume(0, leading.end()) if leading else 0
        self.end = len(text.rstrip())

    def visible(self, pos: int) -> int:
        """The first non-whitespace position from `pos` (a chunk may start indented)."""
        indent = _SPACE.match(self.text, pos)
        return indent.end() if indent else pos

    def line_of(self, pos: int) -> int:
        return bisect.bisect_right(self.starts, pos) - 1

    def line_end(self, index: int) -> int:
        return self.starts[index] + len(self.lines[index])

    def resume(self, run_start: int, run_end: int) -> int:
        """Where text resumes after the whitespace run: the next line's indentation kept."""
        newline = self.text.rfind("\n", run_start, run_end)
        if newline < 0 or run_end - newline - 1 > _MAX_KEPT_INDENT:
            return run_end
        return newline + 1

    def cut(self, start: int, end: int, run_end: int, *, whole: bool = True) -> _Cut | None:
        """The cut that ends a chunk (begun at `start`) at `end`, dropping the whitespace
        up to `run_end`; None when it would leave nothing, be ambiguous, or (when `whole`)
        break a grapheme cluster."""
        nxt = self.resume(end, run_end)
        if nxt >= self.end:
            return None
        if whole and not (self.bounds[end] and self.bounds[nxt]):
            return None
        line = self.line_of(nxt)
        fence = self.fences[line]
        last = self.text[max(start, self.starts[self.line_of(end - 1)]) : end]
        # Only the start of the next line matters; a fence line is short.
        first = self.text[nxt : min(self.line_end(line), nxt + _FENCE_LOOKAHEAD)]
        if fence is None and is_closing_like(last) and starts_like_fence(first):
            return None
        newlines = self.text.count("\n", end, run_end)
        if not newlines:
            kind = self._inline_kind(line, last, first, spaced=run_end > end)
        else:
            kind = _line_kind(newlines, fence, last, first)
        return _Cut(end, nxt, fence, kind)

    def _inline_kind(self, line: int, last: str, first: str, *, spaced: bool) -> _Kind:
        if self.fence_lines[line] or starts_like_fence(last) or starts_like_fence(first):
            return _Kind.AWKWARD
        return _Kind.WORD if spaced else _Kind.HARD


def _line_kind(newlines: int, fence: FenceLine | None, last: str, first: str) -> _Kind:
    """The kind of a cut at a line break."""
    at_fence = parse_fence_line(last) is not None or parse_fence_line(first) is not None
    if fence is not None:
        if at_fence:
            return _Kind.AWKWARD
        return _Kind.CODE_PARAGRAPH if newlines > 1 else _Kind.LINE
    if _HEADING_LIKE.fullmatch(last.strip()):
        return _Kind.LINE  # a heading stays with what it introduces
    return _Kind.PARAGRAPH if newlines > 1 or at_fence else _Kind.LINE


def _space_cuts(doc: _Text, start: int, budget: int) -> Iterator[_Cut]:
    """Cuts at whitespace that fit a chunk begun at `start` with `budget` characters."""
    window_end = min(len(doc.text), start + budget + 1)
    for run in _SPACE.finditer(doc.text, doc.visible(start) + 1, window_end):
        run_end = run.end()
        if run_end == window_end:  # the window clipped the run: find its real end
            whole = _SPACE.match(doc.text, run.start())
            run_end = whole.end() if whole else run_end
        cut = doc.cut(start, run.start(), run_end)
        if cut is not None and cut.cost(start) <= budget:
            yield cut


def _hard_cuts(doc: _Text, start: int, budget: int) -> Iterator[_Cut]:
    """Cuts inside words, the longest first, that fit and keep each symbol whole."""
    text = doc.text
    for pos in range(min(start + budget, doc.end - 1), start, -1):
        if text[pos - 1].isspace() or text[pos].isspace() or not doc.bounds[pos]:
            continue
        cut = doc.cut(start, pos, pos)
        if cut is not None and cut.cost(start) <= budget:
            yield cut
            if cut.kind is _Kind.HARD:
                return


def _last_resort(doc: _Text, start: int, budget: int) -> _Cut:
    """One visible symbol (never ambiguous); a symbol longer than a chunk is cut, though
    never inside a surrogate pair."""
    first = doc.visible(start)
    end = doc.bounds.index(1, first + 1)
    if end - start > budget:
        end = start + budget - (1 if "\ud800" <= doc.text[start + budget - 1] <= "\udbff" else 0)
    cut = doc.cut(start, end, doc.visible(end), whole=False)
    assert cut is not None
    return cut


def _pick(cuts: list[_Cut], start: int, budget: int) -> _Cut | None:
    """The latest cut of the best kind that fills an eighth of the chunk, else the latest
    cut of the best kind at all."""
    best: dict[_Kind, _Cut] = {}
    for cut in cuts:
        if cut.kind not in best or cut.end > best[cut.kind].end:
            best[cut.kind] = cut
    for kind in sorted(best):
        if kind is not _Kind.AWKWARD and best[kind].end - start >= budget // 8:
            return best[kind]
    return best[min(best)] if best else None


def _best_cut(doc: _Text, start: int, budget: int) -> _Cut:
    """Where to end the chunk that starts at `start`."""
    cuts = list(_space_cuts(doc, start, budget))
    chosen = _pick(cuts, start, budget)
    if chosen is None or chosen.kind > _Kind.WORD:
        chosen = _pick(cuts + list(_hard_cuts(doc, start, budget)), start, budget)
    return chosen or _last_resort(doc, start, budget)


def _pieces(doc: _Text, body_limit: int) -> list[_Piece]:
    """The whole text cut into pieces of at most `body_limit` characters, fences included."""
    pieces: list[_Piece] = []
    start, fence = doc.start, None
    while True:
        reopen = fence.reopener if fence else None
        budget = body_limit - (len(reopen) + 1 if reopen else 0)
        if doc.end - start <= budget:
            pieces.append(_Piece(start, doc.end, reopen, None))
            return pieces
        cut = _best_cut(doc, start, budget)
        pieces.append(_Piece(start, cut.end, reopen, cut.fence.closer if cut.fence else None))
        start, fence = cut.next, cut.fence


def _render(doc: _Text, pieces: list[_Piece]) -> list[str]:
    chunks = []
    for number, piece in enumerate(pieces, start=1):
        lines = [f"({number}/{len(pieces)})"]
        lines += [piece.reopen] if piece.reopen else []
        lines.append(doc.text[piece.start : piece.end])
        lines += [piece.close] if piece.close else []
        chunks.append(_narrow("\n".join(lines)))
    return chunks


def chunk_message(text: str, limit: int = WHATSAPP_BODY_LIMIT) -> list[str]:
    """`text` split into WhatsApp messages of at most `limit` UTF-16 units each.

    Splits prefer blank lines, then line breaks, then spaces, and cut inside a word only
    when a word is longer than a chunk. With more than one chunk each starts with a line
    `(k/n)`. A split inside a code block closes the fence and reopens it in the next
    chunk. Empty or blank text gives no chunk at all. See the module docstring for what
    is guaranteed about the text.
    """
    if limit < MIN_CHUNK_LIMIT:
        raise ValueError(f"limit must be at least {MIN_CHUNK_LIMIT}, not {limit}")
    doc = _Text(text)
    if doc.start >= doc.end:
        return []
    if doc.end - doc.start <= limit:
        return [_narrow(doc.text[doc.start : doc.end])]
    digits = 1
    while True:
        pieces = _pieces(doc, limit - len(f"({'9' * digits}/{'9' * digits})\n"))
        if len(str(len(pieces))) <= digits:
            return _render(doc, pieces)
        digits += 1


def _without_marker(chunk: str) -> str:
    marker, _, body = chunk.partition("\n")
    if not _MARKER.fullmatch(marker):
        raise ValueError(f"chunk does not start with a (k/n) line: {chunk[:40]!r}")
    return body


def chunk_bodies(chunks: Sequence[str]) -> list[str]:
    """The original text of each chunk: numbering lines and added fence lines removed."""
    if len(chunks) < 2:
        return list(chunks)
    lines = [_without_marker(chunk).split("\n") for chunk in chunks]
    added = [
        is_closing_like(before[-1]) and parse_fence_line(after[0]) is not None
        for before, after in itertools.pairwise(lines)
    ]
    for index, pair_added in enumerate(added):
        if pair_added:
            lines[index].pop()
            lines[index + 1].pop(0)
    return ["\n".join(body) for body in lines]


def unchunk(chunks: Sequence[str]) -> str:
    """The chunks' original texts joined by newlines: the message before splitting, except
    that each split point's whitespace is now a single newline (and the ends trimmed)."""
    return "\n".join(chunk_bodies(chunks))

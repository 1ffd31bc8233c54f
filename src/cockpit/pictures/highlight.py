"""Colour the lines of a diff: Pygments tokens by file type, plus intra-line changes.

Each side of a hunk (old: context and removed lines; new: context and added
lines) is lexed as one text, so strings and comments that span lines within a
hunk are coloured correctly. Colours follow GitHub's light theme. A removed line
followed by its rewritten version gets the changed characters marked
(`Span.emph`), as GitHub's darker intra-line backgrounds.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_for_filename
from pygments.token import Comment, Keyword, Name, Number, Operator, String, _TokenType
from pygments.util import ClassNotFound

from cockpit.pictures.patch import DiffLine, Hunk

TEXT_COLOR = "#1f2328"
TAB_WIDTH = 4
_INTRA_MAX_LEN = 400  # comparing longer lines costs more than the hint is worth
_INTRA_MIN_RATIO = 0.35  # below this the lines are rewrites, not edits
_WORD = re.compile(r"\w+|\s+|[^\w\s]")

# Ordered from the most specific token type: the first ancestor found wins.
_COLORS: tuple[tuple[_TokenType, str, bool], ...] = (
    (Comment, "#6e7781", True),
    (String.Regex, "#116329", False),
    (String, "#0a3069", False),
    (Number, "#0550ae", False),
    (Keyword.Constant, "#0550ae", False),
    (Keyword, "#cf222e", False),
    (Operator.Word, "#cf222e", False),
    (Name.Function, "#8250df", False),
    (Name.Class, "#8250df", False),
    (Name.Decorator, "#8250df", False),
    (Name.Tag, "#116329", False),
    (Name.Attribute, "#0550ae", False),
    (Name.Builtin, "#0550ae", False),
    (Name.Constant, "#0550ae", False),
    (Name.Variable, "#953800", False),
    (Name.Label, "#953800", False),
)


@dataclass(frozen=True)
class Span:
    """A piece of one line in one colour; `emph` marks characters changed within the line."""

    text: str
    color: str = TEXT_COLOR
    italic: bool = False
    emph: bool = False


def lexer_for(path: str) -> Lexer:
    """The Pygments lexer for a file name, plain text when none fits."""
    try:
        return get_lexer_for_filename(path, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return TextLexer(stripnl=False, ensurenl=False)


def clean(text: str) -> str:
    """Expand tabs and make control characters visible (they would draw nothing)."""
    text = text.expandtabs(TAB_WIDTH)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else _picture(ch) for ch in text)


def highlight_hunk(hunk: Hunk, lexer: Lexer) -> list[list[Span]]:
    """The coloured spans of every line of `hunk`, in order."""
    texts = [clean(line.text) for line in hunk.lines]
    new_side = [i for i, line in enumerate(hunk.lines) if line.kind != "-"]
    old_side = [i for i, line in enumerate(hunk.lines) if line.kind == "-"]
    spans: list[list[Span]] = [[] for _ in hunk.lines]
    for indexes in (new_side, old_side):
        coloured = _lex_lines([texts[i] for i in indexes], lexer)
        for i, line_spans in zip(indexes, coloured, strict=True):
            spans[i] = line_spans
    for removed, added in _edit_pairs(hunk.lines):
        old_marks, new_marks = _changed_chars(texts[removed], texts[added])
        spans[removed] = _mark(spans[removed], old_marks)
        spans[added] = _mark(spans[added], new_marks)
    return spans


@functools.lru_cache(maxsize=512)
def _style(ttype: _TokenType) -> tuple[str, bool]:
    for base, color, italic in _COLORS:
        if ttype in base:
            return color, italic
    return TEXT_COLOR, False


def _lex_lines(lines: Sequence[str], lexer: Lexer) -> list[list[Span]]:
    if not lines:
        return []
    result: list[list[Span]] = [[]]
    for ttype, value in lexer.get_tokens("\n".join(lines) + "\n"):
        color, italic = _style(ttype)
        for n, piece in enumerate(value.split("\n")):
            if n:
                result.append([])
            if piece:
                result[-1].append(Span(piece, color, italic))
    return _fit(result, lines)


def _fit(result: list[list[Span]], lines: Sequence[str]) -> list[list[Span]]:
    """Guard against lexers that change the text: fall back to plain lines."""
    fitted = result[: len(lines)]
    ok = len(fitted) == len(lines) and all(
        "".join(s.text for s in spans) == line for spans, line in zip(fitted, lines, strict=True)
    )
    return fitted if ok else [[Span(line)] if line else [] for line in lines]


def _edit_pairs(lines: Sequence[DiffLine]) -> Iterable[tuple[int, int]]:
    """Pairs (removed, added) where a block of removals is followed by as many additions."""
    i = 0
    while i < len(lines):
        if lines[i].kind != "-":
            i += 1
            continue
        start = i
        while i < len(lines) and lines[i].kind == "-":
            i += 1
        mid = i
        while i < len(lines) and lines[i].kind == "+":
            i += 1
        if i - mid == mid - start:
            yield from zip(range(start, mid), range(mid, i), strict=True)


def _changed_chars(old: str, new: str) -> tuple[set[int], set[int]]:
    """Character positions of the words that differ (word level, as GitHub marks them)."""
    if max(len(old), len(new)) > _INTRA_MAX_LEN or not old.strip() or not new.strip():
        return set(), set()
    old_words, new_words = _WORD.findall(old), _WORD.findall(new)
    matcher = difflib.SequenceMatcher(None, old_words, new_words, autojunk=False)
    if matcher.ratio() < _INTRA_MIN_RATIO:
        return set(), set()
    old_at, new_at = _offsets(old_words), _offsets(new_words)
    old_marks: set[int] = set()
    new_marks: set[int] = set()
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag != "equal":
            old_marks.update(range(old_at[a1], old_at[a2]))
            new_marks.update(range(new_at[b1], new_at[b2]))
    return old_marks, new_marks


def _offsets(words: Sequence[str]) -> list[int]:
    offsets = [0]
    for word in words:
        offsets.append(offsets[-1] + len(word))
    return offsets


def _mark(spans: list[Span], marks: set[int]) -> list[Span]:
    if not marks:
        return spans
    out: list[Span] = []
    pos = 0
    for span in spans:
        run_start = 0
        for k in range(1, len(span.text) + 1):
            if k == len(span.text) or ((pos + k in marks) != (pos + run_start in marks)):
                emph = pos + run_start in marks
                piece = span.text[run_start:k]
                out.append(Span(piece, span.color, span.italic, emph))
                run_start = k
        pos += len(span.text)
    return out


def _picture(ch: str) -> str:
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)  # Unicode "control pictures", e.g. ␀
    return "\ufffd"

"""Markdown (as Claude writes it) to WhatsApp's own markup.

WhatsApp knows `*bold*`, `_italic_`, `~strike~`, `` `code` ``, ```` ``` ```` blocks,
`> quotes` and `- ` / `1. ` lists; everything else shows as typed. The conversion goes
block by block: code fences are copied verbatim, tables become rows, headings, rules and
bullets are rewritten per line, and runs of text are converted whole (emphasis may span
a soft line break). Inline conversion first sets aside what must not change (code spans,
URLs, escaped characters) behind private-use placeholders, rewrites the emphasis, then
puts the set-aside text back.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from cockpit.core.fences import parse_fence_line

RULE = "───"
_CELL_GAP = " · "
_EMPTY_CELL = "—"

_HEADING = re.compile(r" {0,3}#{1,6}(?:[ \t]+(?P<text>.*?))?(?:[ \t]+#+)?[ \t]*")
_RULE = re.compile(r" {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*")
_ITEM_OR_QUOTE = re.compile(r"[ \t]*(?:\d+[.)][ \t]|>)")
_BULLET = re.compile(r"(?P<indent>[ \t]*)[-*+][ \t]+(?P<rest>.*)")
_TABLE_RULE = re.compile(r"[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")

_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")
_LINK_URL = r"\(\s*(?P<url><[^<>\n]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)\s*\)"
_IMAGE = re.compile(r"!\[(?P<text>[^\[\]\n]*)\]" + _LINK_URL)
_LINK = re.compile(r"\[(?P<text>[^\[\]\n]*)\]" + _LINK_URL)
_AUTOLINK = re.compile(r"<(?P<url>(?:https?|mailto):[^<>\s]+)>")
_BARE_URL = re.compile(r"https?://[^\s<>]*[^\s<>.,;:!?'\")\]*_~]")
_ESCAPE = re.compile(r"\\(?P<char>[!-/:-@\[-`{-~])")

_Rewrite = tuple[str, tuple[str, ...]]


class _Marks:
    """Private-use characters absent from one text: placeholders and emphasis marks."""

    def __init__(self, text: str) -> None:
        free = (chr(c) for c in range(0xE000, 0xF900) if chr(c) not in text)
        self.hold_mark, self.bold, self.italic = next(free), next(free), next(free)
        self._held: list[str] = []
        self._placeholder = re.compile(f"{self.hold_mark}(\\d+){self.hold_mark}")

    def hold(self, verbatim: str) -> str:
        """A placeholder that `restore` turns back into `verbatim`, untouched meanwhile."""
        self._held.append(verbatim)
        return f"{self.hold_mark}{len(self._held) - 1}{self.hold_mark}"

    def restore(self, text: str, *, bold: str) -> str:
        """Emphasis marks turned into WhatsApp's, placeholders into what they hold."""
        text = text.replace(self.bold, bold).replace(self.italic, "_")
        while self.hold_mark in text:
            text = self._placeholder.sub(lambda m: self._held[int(m[1])], text)
        return text


def _wrap(text: str, *marks: str) -> str:
    """`text` between the marks, line by line: WhatsApp styles do not span a line break."""
    opening, closing = "".join(marks), "".join(reversed(marks))
    parts = []
    for part in text.split("\n"):
        core = part.strip()
        if core:
            lead, trail = part[: len(part) - len(part.lstrip())], part[len(part.rstrip()) :]
            part = f"{lead}{opening}{core}{closing}{trail}"
        parts.append(part)
    return "\n".join(parts)


def _styler(styles: tuple[str, ...]) -> Callable[[re.Match[str]], str]:
    return lambda match: _wrap(match[1], *styles)


def _emphasis_rules(marks: _Marks) -> list[_Rewrite]:
    """Markdown emphasis rewritten to marks, strongest first so `**` is not read as `*`."""
    b, i = marks.bold, marks.italic
    return [
        (r"\*\*\*(?=\S)(.+?)(?<=\S)\*\*\*", (b, i)),
        (r"\*\*(?=\S)(.+?)(?<=\S)\*\*", (b,)),
        (r"(?<!\w)__(?=\S)(.+?)(?<=\S)__(?!\w)", (b,)),
        (r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?!\*)", (i,)),
        (r"(?<!\w)_(?=[^\s_])(.+?)(?<=[^\s_])_(?!\w)", (i,)),
        (r"~~(?=\S)(.+?)(?<=\S)~~", ("~",)),
    ]


def _link_replacer(marks: _Marks) -> Callable[[re.Match[str]], str]:
    """`[text](url)` becomes `text (url)`, or just the url when there is nothing else."""

    def replace(match: re.Match[str]) -> str:
        text, url = match["text"].strip(), match["url"].strip("<>")
        if not url:
            return text
        if not text or text == url:
            return marks.hold(url)
        return f"{text} ({marks.hold(url)})"

    return replace


def convert_inline(text: str, *, bold: str = "*") -> str:
    """Inline Markdown (a line or a paragraph) in WhatsApp markup; `bold` is what `**`
    becomes ("" in a line that is bold as a whole)."""
    marks = _Marks(text)
    text = _CODE_SPAN.sub(lambda m: marks.hold(m[0]), text)
    text = _IMAGE.sub(_link_replacer(marks), text)
    text = _LINK.sub(_link_replacer(marks), text)
    text = _AUTOLINK.sub(lambda m: marks.hold(m["url"]), text)
    text = _BARE_URL.sub(lambda m: marks.hold(m[0]), text)
    text = _ESCAPE.sub(lambda m: marks.hold(m["char"]), text)
    for pattern, styles in _emphasis_rules(marks):
        text = re.sub(pattern, _styler(styles), text, flags=re.DOTALL)
    return marks.restore(text, bold=bold)


def _bold_line(text: str) -> str:
    """A whole line in bold, without nested bold inside (WhatsApp cannot nest it)."""
    inner = convert_inline(text.strip(), bold="")
    return f"*{inner}*" if inner else ""


def _is_plain(line: str) -> bool:
    """True for a line of running text: not blank, not a heading, rule, bullet or fence."""
    special = _HEADING.fullmatch(line) or _RULE.fullmatch(line) or _BULLET.fullmatch(line)
    return bool(line.strip()) and not special and parse_fence_line(line) is None


def _paragraph_at(lines: list[str], i: int) -> int:
    """How many lines from `i` form one run of text, in which emphasis may span a line
    break; 0 when line `i` is something else."""
    if not _is_plain(lines[i]) or _table_at(lines, i):
        return 0
    end = i + 1
    while end < len(lines) and _is_plain(lines[end]) and not _table_at(lines, end):
        if _ITEM_OR_QUOTE.match(lines[end]):
            break
        end += 1
    return end - i


def convert_line(line: str) -> str:
    """One line outside code and tables: headings, rules, bullets, then inline markup."""
    if heading := _HEADING.fullmatch(line):
        return _bold_line(heading["text"] or "")
    if _RULE.fullmatch(line):
        return RULE
    if bullet := _BULLET.fullmatch(line):
        return f"{bullet['indent']}• {convert_inline(bullet['rest'])}"
    return convert_inline(line)


def _cells(row: str) -> list[str]:
    """The cells of one table row, outer pipes and escapes removed."""
    row = row.strip()
    row = row.removeprefix("|")
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    return [cell.strip().replace("\\|", "|") for cell in _CELL_SPLIT.split(row)]


def _table_row(row: str, *, header: bool) -> str:
    """A table row as `a · b · c`; the header row in bold."""
    cells = [convert_inline(c, bold="" if header else "*") or _EMPTY_CELL for c in _cells(row)]
    joined = _CELL_GAP.join(cells)
    return f"*{joined}*" if header else joined


def _is_table_row(line: str) -> bool:
    return "|" in line and bool(line.strip()) and parse_fence_line(line) is None


def _table_at(lines: list[str], i: int) -> int:
    """How many lines from `i` form a table (header, rule, rows); 0 when none starts."""
    if i + 1 >= len(lines) or not _is_table_row(lines[i]):
        return 0
    rule = lines[i + 1]
    if "|" not in rule or not _TABLE_RULE.fullmatch(rule):
        return 0
    end = i + 2
    while end < len(lines) and _is_table_row(lines[end]):
        end += 1
    return end - i


def _convert_table(rows: list[str]) -> list[str]:
    """Rows rendered as `a · b` lines; the `|---|` rule row carries no words and goes."""
    body = [_table_row(row, header=False) for row in rows[2:]]
    return [_table_row(rows[0], header=True), *body]


def _fence_block(lines: list[str], i: int) -> tuple[list[str], int]:
    """The code block opening at line `i`, verbatim (closed if the author forgot to), and
    the index of the line after it."""
    opener = parse_fence_line(lines[i])
    assert opener is not None
    for end in range(i + 1, len(lines)):
        fence = parse_fence_line(lines[end])
        if fence is not None and fence.closes(opener):
            return lines[i : end + 1], end + 1
    block = lines[i:]
    last = max(n for n, line in enumerate(block) if n == 0 or line.strip())
    return [*block[: last + 1], opener.closer, *block[last + 1 :]], len(lines)


def markdown_to_whatsapp(text: str) -> str:
    """Claude's Markdown rewritten in WhatsApp's markup, never dropping a word.

    - `**b**`, `__b__` → `*b*`; `*i*`, `_i_` → `_i_`; `~~s~~` → `~s~`;
    - `# Heading` (any level) → a bold line `*Heading*`;
    - `[text](url)` → `text (url)`, just `url` when text is the url; `![alt](url)` →
      `alt (url)`; `<https://…>` → the url;
    - `- x`, `* x`, `+ x` → `• x` (indentation kept); numbered lists and `> quotes` kept;
    - horizontal rules → `───`;
    - code spans and fenced code blocks are copied verbatim (an unclosed fence is
      closed at the end); nothing inside them is rewritten;
    - tables → one line per row, cells joined by ` · `, the header row bold, the
      `|---|` rule row dropped. Not a monospace block: a phone shows about 35
      monospace columns and wraps longer lines, which scrambles any aligned table,
      while `a · b` rows wrap gracefully and keep their inline formatting.
    """
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if parse_fence_line(lines[i]) is not None:
            block, i = _fence_block(lines, i)
            out.extend(block)
        elif size := _table_at(lines, i):
            out.extend(_convert_table(lines[i : i + size]))
            i += size
        elif size := _paragraph_at(lines, i):
            out.extend(convert_inline("\n".join(lines[i : i + size])).split("\n"))
            i += size
        else:
            out.append(convert_line(lines[i]))
            i += 1
    return "\n".join(out)

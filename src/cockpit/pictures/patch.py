"""The shape of a diff (dataclasses) and the parser of one file's unified patch text.

Pure: no git, no I/O. `gitdiff` feeds it the patch that `git diff` printed for one
file; the result is what the diff images are drawn from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

LineKind = Literal["+", "-", " "]
Status = Literal["added", "modified", "deleted", "renamed", "binary"]

_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$")


@dataclass(frozen=True)
class DiffLine:
    """One line of a hunk: added (+), removed (-) or unchanged context (space)."""

    kind: LineKind
    text: str
    old_no: int | None
    new_no: int | None


@dataclass(frozen=True)
class Hunk:
    """A run of changed lines with its context, as `@@ -old +new @@ section` introduces it."""

    old_start: int
    old_count: int
    new_start: int
    new_count: int
    section: str
    lines: tuple[DiffLine, ...]


@dataclass(frozen=True)
class FileDiff:
    """Everything about one changed file that a picture of it needs.

    `status` is "binary" for any binary file (then `old_size`/`new_size` tell
    whether it was added, deleted or changed). `summarized` means the change was
    too large to keep line by line: `hunks` is empty but the counts are right.
    """

    path: str
    old_path: str | None
    status: Status
    additions: int
    deletions: int
    hunks: tuple[Hunk, ...] = ()
    binary: bool = False
    old_size: int | None = None
    new_size: int | None = None
    summarized: bool = False
    encoding: str = "utf-8"
    old_mode: str | None = None
    new_mode: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def changed_lines(self) -> int:
        """Added plus removed lines."""
        return self.additions + self.deletions


@dataclass(frozen=True)
class ParsedPatch:
    """What one file's patch text says: hunks (unless too large) and counts."""

    hunks: tuple[Hunk, ...]
    additions: int
    deletions: int
    binary: bool
    summarized: bool


def decode_patch(raw: bytes) -> tuple[str, str]:
    """Decode one file's patch: UTF-8 when it is, else Latin-1 (which never fails)."""
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def parse_patch(text: str, *, max_changed_lines: int = 2000) -> ParsedPatch:
    """Parse the patch of one file (from `diff --git` on) into hunks and counts.

    When more than `max_changed_lines` lines changed, the counts are kept and the
    hunks dropped: such a change is summarised, not drawn.
    """
    lines = text.split("\n")
    binary = any(_is_binary_marker(line) for line in _header(lines))
    hunks: list[Hunk] = []
    adds = dels = 0
    i = 0
    while i < len(lines):
        match = _HUNK_HEADER.match(lines[i])
        i += 1
        if match is None:
            continue
        hunk, i = _read_hunk(match, lines, i)
        adds += sum(1 for line in hunk.lines if line.kind == "+")
        dels += sum(1 for line in hunk.lines if line.kind == "-")
        hunks.append(hunk)
    summarized = adds + dels > max_changed_lines
    return ParsedPatch(() if summarized else tuple(hunks), adds, dels, binary, summarized)


def _header(lines: list[str]) -> list[str]:
    for n, line in enumerate(lines):
        if line.startswith("@@ "):
            return lines[:n]
    return lines


def _is_binary_marker(line: str) -> bool:
    return line == "GIT binary patch" or (line.startswith("Binary files ") and "differ" in line)


def _read_hunk(match: re.Match[str], lines: list[str], i: int) -> tuple[Hunk, int]:
    old_start, new_start = int(match[1]), int(match[3])
    old_count = 1 if match[2] is None else int(match[2])
    new_count = 1 if match[4] is None else int(match[4])
    old_left, new_left = old_count, new_count
    old_no, new_no = old_start, new_start
    body: list[DiffLine] = []
    while (old_left > 0 or new_left > 0) and i < len(lines):
        raw = lines[i]
        i += 1
        if raw.startswith("\\"):  # "\ No newline at end of file"
            continue
        kind, text = (raw[0], raw[1:]) if raw else (" ", "")
        text = text.removesuffix("\r")
        if kind == "+":
            body.append(DiffLine("+", text, None, new_no))
            new_no, new_left = new_no + 1, new_left - 1
        elif kind == "-":
            body.append(DiffLine("-", text, old_no, None))
            old_no, old_left = old_no + 1, old_left - 1
        else:
            body.append(DiffLine(" ", text, old_no, new_no))
            old_no, new_no = old_no + 1, new_no + 1
            old_left, new_left = old_left - 1, new_left - 1
    while i < len(lines) and lines[i].startswith("\\"):
        i += 1
    hunk = Hunk(old_start, old_count, new_start, new_count, match[5].strip(), tuple(body))
    return hunk, i

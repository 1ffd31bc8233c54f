"""Code fences (```` ``` ```` and ``~~~``): the one parser the converter and the chunker share.

A fence line is up to 32 spaces or tabs, then a run of 3 to 32 backticks or tildes, then
an info string (for backtick fences the info string may not contain a backtick). A fence
closes with the same character, a run at least as long, and nothing but whitespace after.
The caps keep a fence line short enough to be repeated when a message is split, and are
far beyond what anyone writes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_FENCE = re.compile(r"(?P<indent>[ \t]{0,32})(?P<marker>`{3,32}|~{3,32})(?P<info>.*)")
_STARTS_LIKE_FENCE = re.compile(r"[ \t]{0,32}(?:```|~~~)")

# A reopening line longer than this drops its info string: the split must stay cheap.
MAX_REOPEN_LINE = 64


@dataclass(frozen=True)
class FenceLine:
    """One line that looks like a fence: what it is made of."""

    indent: str
    marker: str
    info: str

    @property
    def is_bare(self) -> bool:
        """True when nothing but whitespace follows the marker (a line that can close)."""
        return not self.info.strip()

    def closes(self, opener: FenceLine) -> bool:
        """True when this line ends the fence that `opener` started."""
        return (
            self.is_bare
            and self.marker[0] == opener.marker[0]
            and len(self.marker) >= len(opener.marker)
        )

    @property
    def closer(self) -> str:
        """The line that closes this fence."""
        return self.indent + self.marker

    @property
    def reopener(self) -> str:
        """The line that opens this fence again, info string included when short."""
        line = (self.indent + self.marker + self.info).rstrip()
        return line if len(line) <= MAX_REOPEN_LINE else self.closer


def parse_fence_line(line: str) -> FenceLine | None:
    """The fence that `line` is, or None when it is not a fence line."""
    match = _FENCE.fullmatch(line)
    if match is None:
        return None
    marker, info = match["marker"], match["info"]
    if marker[0] == "`" and "`" in info:
        return None
    return FenceLine(match["indent"], marker, info)


def starts_like_fence(text: str) -> bool:
    """True when `text` begins the way a fence line does (a cheap, conservative test)."""
    return _STARTS_LIKE_FENCE.match(text) is not None


def is_closing_like(line: str) -> bool:
    """True when `line` alone could close a fence (a bare fence line)."""
    fence = parse_fence_line(line)
    return fence is not None and fence.is_bare


def open_fences(lines: Sequence[str]) -> list[FenceLine | None]:
    """For each line, the fence open just before it (None outside code)."""
    states: list[FenceLine | None] = []
    current: FenceLine | None = None
    for line in lines:
        states.append(current)
        fence = parse_fence_line(line)
        if fence is None:
            continue
        if current is None:
            current = fence
        elif fence.closes(current):
            current = None
    return states


def fence_after(lines: Sequence[str]) -> FenceLine | None:
    """The fence still open after the last of `lines` (None when all are closed)."""
    states = open_fences([*lines, ""])
    return states[-1]

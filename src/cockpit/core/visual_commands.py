"""The phone's visual commands, answered by the host without spending Claude's tokens.

* `/screenshot [path or URL]` — mobile and desktop side by side (default: `/`);
* `/diff [file]` — the diff pictures of every changed file, or of one;
* `show <file>` — one changed file's diff, the name typed loosely ("Show setings.py.");
  only a single word after *show* counts, and only if it names a changed file (the
  host decides): "show me the settings page" goes to Claude;
* `/visuals off`, `/visuals on` — automatic pictures after each turn.

Dictation adds capitals and punctuation, so words are compared folded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from cockpit.core.replies import fold

VisualKind = Literal["screenshot", "diff", "show", "auto"]
_SLASH = re.compile(r"^/(screenshot|diff)\b\s*(.*)$", re.IGNORECASE | re.DOTALL)
_AUTO = {"visuals on": True, "visuals off": False}


@dataclass(frozen=True)
class VisualCommand:
    """A visual command: its kind, its argument (path, URL or file name) or on/off."""

    kind: VisualKind
    arg: str | None = None
    enabled: bool | None = None


def visual_command(text: str) -> VisualCommand | None:
    """The visual command `text` is, if any (`show <x>` still needs the host's match)."""
    stripped = text.strip()
    if stripped.startswith("//"):
        return None  # `//diff` is the literal text for Claude
    slash = _SLASH.match(stripped)
    if slash:
        kind: VisualKind = "screenshot" if slash[1].lower() == "screenshot" else "diff"
        arg = slash[2].strip().strip("`'\"") or None
        return VisualCommand(kind, arg)
    folded = fold(stripped)
    if folded in _AUTO:
        return VisualCommand("auto", enabled=_AUTO[folded])
    words = folded.split(" ")
    if len(words) == 2 and words[0] == "show" and words[1]:
        return VisualCommand("show", words[1])
    return None

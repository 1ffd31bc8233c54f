"""The board: every session of a user with its latest task's state, in words for the phone."""

from __future__ import annotations

from collections.abc import Sequence

STATE_WORDS = {
    "submitted": "⏳ working", "running": "⏳ working", "queued": "🕒 queued",
    "done": "✅ done", "failed": "⚠️ failed", "interrupted": "⏹ stopped",
}  # fmt: skip
IDLE = "💤 idle"  # a session with no task yet


def worded(states: Sequence[tuple[str, str | None]]) -> list[tuple[str, str]]:
    """Each (session, latest turn state or None) as (session, the state in words)."""
    return [(name, STATE_WORDS.get(state or "", IDLE)) for name, state in states]


def board_text(rows: list[tuple[str, str]]) -> str:
    """The compact board: one line per session."""
    return "📋 " + "\n".join(f"[{name}] {state}" for name, state in rows)

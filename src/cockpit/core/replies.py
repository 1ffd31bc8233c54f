"""What a short reply from the phone means: an answer, a control word, or a message.

Dictation and phone keyboards add capitals and punctuation ("Yes.", "Stop!"), so
words are compared after folding case and stripping punctuation. Only a reply that
is nothing but the word counts: "stop the dev server" goes to Claude.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_APPROVAL_WORDS = {
    "allow": ("1", "allow", "yes", "y", "ok", "okay", "approve", "go", "go ahead"),
    "allow_session": ("2", "allow for this session", "always", "allow always", "allow all"),
    "deny": ("3", "deny", "no", "n", "nope", "reject", "don't", "dont"),
}
CONTROL_WORDS = {
    "retry": "retry", "resume": "retry", "cancel": "cancel", "stop": "stop",
}  # fmt: skip


@dataclass(frozen=True)
class Answer:
    """An answer to the open approval (`decision`) or question (`text`)."""

    decision: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class Control:
    """A control word for the relay: retry, cancel or stop."""

    word: str


def fold(text: str) -> str:
    """Lower case, inner spaces collapsed, surrounding punctuation and slashes removed."""
    folded = re.sub(r"\s+", " ", text.strip().lower())
    return folded.strip(" .!?,;:\"'*_~/")


def control_word(text: str) -> Control | None:
    """The control word `text` consists of, if any (`/stop`, `Stop!`, `retry.`)."""
    if text.strip().startswith("//"):
        return None  # `//stop` is the literal text for Claude
    word = CONTROL_WORDS.get(fold(text))
    return Control(word) if word else None


def approval_decision(text: str) -> str | None:
    """allow / allow_session / deny when `text` answers an approval, else None."""
    folded = fold(text)
    for decision, words in _APPROVAL_WORDS.items():
        if folded in words:
            return decision
    return None


def question_answer(text: str, options: list[str]) -> str:
    """The chosen option when `text` is its number or its words; otherwise `text` itself."""
    folded = fold(text)
    if folded.isdigit() and 1 <= int(folded) <= len(options):
        return options[int(folded) - 1]
    for option in options:
        if fold(option) == folded:
            return option
    return text.strip()

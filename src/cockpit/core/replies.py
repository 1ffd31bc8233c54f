"""What a short reply from the phone means when a question is open: an answer or not.

Dictation and phone keyboards add capitals and punctuation ("Yes.", "Stop!"), so
words are compared after folding case and stripping punctuation. Only a reply that
is nothing but the word counts: "no, use PostgreSQL" goes to Claude as a message.
"""

from __future__ import annotations

import re

_APPROVAL_WORDS = {
    "allow": ("1", "allow", "yes", "y", "ok", "okay", "approve", "go", "go ahead"),
    "allow_session": ("2", "allow for this session", "always", "allow always", "allow all"),
    "deny": ("3", "deny", "no", "n", "nope", "reject", "don't", "dont"),
}


def fold(text: str) -> str:
    """Lower case, inner spaces collapsed, surrounding punctuation and slashes removed."""
    folded = re.sub(r"\s+", " ", text.strip().lower())
    return folded.strip(" .!?,;:\"'*_~/")


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

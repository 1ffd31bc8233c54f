"""Short replies as people type or dictate them."""

from __future__ import annotations

from cockpit.core.replies import approval_decision, question_answer


def test_approval_answers_by_number_or_word() -> None:
    """1/yes allow, 2 allows for the session, 3/no deny; anything else is not an answer."""
    assert approval_decision("1") == "allow"
    assert approval_decision("Yes.") == "allow"
    assert approval_decision("2") == "allow_session"
    assert approval_decision("No!") == "deny"
    assert approval_decision("what does it do?") is None


def test_question_answers_by_number_or_free_text() -> None:
    """A number picks the option; other text is the answer as typed."""
    options = ["PostgreSQL", "SQLite"]
    assert question_answer("2", options) == "SQLite"
    assert question_answer("postgresql", options) == "PostgreSQL"
    assert question_answer("whichever is simpler", options) == "whichever is simpler"

"""Commands as people type and dictate them, and the help that lists them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cockpit.core.commands import REGISTRY, Invocation, Suggestion, help_text, literal, parse


def _name(text: str) -> str | None:
    result = parse(text)
    return result.command.name if isinstance(result, Invocation) else None


def test_dictated_and_typed_forms_of_a_command_are_understood() -> None:
    """Capitals and punctuation added by phones do not matter."""
    assert [_name(t) for t in ("/status", "Status.", "STOP!", "/Stop", "cancel", "/resume")] == [
        "status", "status", "stop", "stop", "cancel", "retry",
    ]  # fmt: skip


def test_arguments_follow_the_command() -> None:
    """`/switch 2` names the session; `/new auth-fix` names the new one."""
    result = parse("/switch 2")
    assert isinstance(result, Invocation) and result.args == "2"
    result = parse("/new auth-fix")
    assert isinstance(result, Invocation) and (result.command.name, result.args) == (
        "new",
        "auth-fix",
    )


def test_resume_with_a_name_continues_that_session() -> None:
    """`Resume auth-fix.` is the retry/resume command with the session's name."""
    result = parse("Resume auth-fix.")
    assert isinstance(result, Invocation) and (result.command.name, result.args) == (
        "retry", "auth-fix"
    )  # fmt: skip
    assert parse("resume the work on the parser") is None


def test_a_near_miss_gets_a_suggestion_but_a_sentence_does_not() -> None:
    """`/stauts` earns "did you mean"; "what is the status of the build?" goes to Claude."""
    suggestion = parse("/stauts")
    assert isinstance(suggestion, Suggestion) and suggestion.command.name == "status"
    assert parse("what is the status of the build?") is None
    assert parse("status of the deploy") is None


def test_unknown_slash_words_and_double_slashes_go_to_claude() -> None:
    """The user's own skills (/ship) and `//status` are not relay commands."""
    assert parse("/ship") is None
    assert parse("//status") is None
    assert literal("//status") == "/status"


def test_help_lists_every_command_in_one_message() -> None:
    """/help names each registered command and fits in one WhatsApp message."""
    text = help_text()
    assert len(text) < 1600
    assert all(f"/{c.name}" in text for c in REGISTRY)


@given(st.text(max_size=200))
def test_parsing_never_fails_and_plain_sentences_with_spaces_are_not_bare_commands(
    text: str,
) -> None:
    """Any text parses; a message of several words is a command only if it starts with /."""
    result = parse(text)
    if isinstance(result, Invocation) and not text.strip().startswith("/"):
        assert " " not in text.strip()

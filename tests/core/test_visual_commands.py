"""Which phone messages are visual commands for the host, and which go to Claude."""

from __future__ import annotations

from cockpit.core.visual_commands import VisualCommand, visual_command


def test_slash_commands_keep_their_argument_as_typed() -> None:
    """`/screenshot` and `/diff` take an optional path, URL or file name, case kept."""
    assert visual_command("/screenshot") == VisualCommand("screenshot")
    assert visual_command("/Screenshot /Settings") == VisualCommand("screenshot", "/Settings")
    assert visual_command("/screenshot http://localhost:3000/x") == VisualCommand(
        "screenshot", "http://localhost:3000/x"
    )
    assert visual_command("/diff") == VisualCommand("diff")
    assert visual_command("/diff src/App.tsx ") == VisualCommand("diff", "src/App.tsx")


def test_show_with_one_word_is_a_candidate_even_as_dictated() -> None:
    """`Show setings.py.` becomes show "setings.py"; the host decides whether it names a file."""
    assert visual_command("Show setings.py.") == VisualCommand("show", "setings.py")
    assert visual_command("show Button") == VisualCommand("show", "button")


def test_visuals_on_and_off_with_or_without_slash() -> None:
    """`/visuals off`, `Visuals on!` switch automatic pictures."""
    assert visual_command("/visuals off") == VisualCommand("auto", enabled=False)
    assert visual_command("Visuals On!") == VisualCommand("auto", enabled=True)


def test_sentences_and_escapes_go_to_claude() -> None:
    """Sentences, a bare `show`, unknown slash words and `//diff` are not commands."""
    for text in ("show me the settings page", "show", "/diffs", "//diff", "diff please", ""):
        assert visual_command(text) is None, text

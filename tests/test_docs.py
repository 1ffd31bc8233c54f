"""The README documents every setting and every command a user can run."""

from __future__ import annotations

from pathlib import Path

from typer.main import get_command

from cockpit.cli import app
from cockpit.config import documented_settings

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_every_setting_is_in_the_readme_table() -> None:
    """A new setting cannot ship without a row in the README's settings table."""
    missing = [name for name in documented_settings() if f"| `{name}` |" not in README]
    assert missing == []


def test_every_setting_has_a_help_line() -> None:
    """Each setting explains itself in one line."""
    assert all(help_ for help_ in documented_settings().values())


def test_every_command_is_in_the_readme() -> None:
    """Each `cockpit` command (and sub-command) is mentioned in the README."""
    root = get_command(app)
    names = []
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None)
        names += [f"cockpit {name} {sub}" for sub in subs] if subs else [f"cockpit {name}"]
    assert [n for n in names if n not in README] == []

"""Pure rules of the host: what asks for approval, how tool calls are described."""

from __future__ import annotations

from pathlib import Path

from cockpit.host import policy
from cockpit.host.failures import from_api_status
from cockpit.host.progress import describe
from cockpit.host.waits import timeout_text

WS = Path("/srv/ws")


def _needs(name: str, args: dict[str, object], auto: bool = True) -> bool:
    return policy.needs_approval(name, args, workspace=WS, cwd=WS, auto_allow_edits=auto)


def test_edits_inside_the_workspace_run_and_others_ask() -> None:
    """Edits in the workspace run on their own; outside it, or with the setting off, they ask."""
    assert not _needs("Edit", {"file_path": "/srv/ws/src/app.ts"})
    assert not _needs("Write", {"file_path": "notes.md"})
    assert _needs("Write", {"file_path": "/etc/hosts"})
    assert _needs("Edit", {"file_path": "/srv/ws/../other/x"})
    assert _needs("Edit", {"file_path": "/srv/ws/a.py"}, auto=False)


def test_read_only_and_phone_tools_run_and_the_rest_asks() -> None:
    """Reading and phone tools never ask; Bash and web access always do."""
    for name in ("Read", "Glob", "Grep", "LS", "TodoWrite", "ToolSearch", "mcp__phone__ask_user"):
        assert not _needs(name, {})
    for name in ("Bash", "WebFetch", "mcp__github__create_issue"):
        assert _needs(name, {})


def test_approval_summaries_are_one_plain_line() -> None:
    """The approval question names the command or the file, flagging outside paths."""
    kw = {"workspace": WS, "cwd": WS}
    assert policy.summary("Bash", {"command": "npm  test\n"}, **kw) == "Run `npm test`?"
    assert policy.summary("Edit", {"file_path": "/etc/hosts"}, **kw) == (
        "Edit /etc/hosts (outside the workspace)?"
    )
    assert policy.summary("Write", {"file_path": "/srv/ws/a.txt"}, **kw) == "Write a.txt?"


def test_progress_lines_name_what_claude_does() -> None:
    """Each tool call becomes a short line with an emoji, paths relative to the workspace."""
    assert describe("Edit", {"file_path": "/srv/ws/src/app.ts"}, WS) == "✏️ editing src/app.ts"
    assert describe("Bash", {"command": "npm test"}, WS) == "🧪 running `npm test`"
    assert describe("Read", {"file_path": "/srv/ws/README.md"}, WS) == "📖 reading README.md"
    assert describe("Grep", {"pattern": "TODO"}, WS) == "🔎 searching TODO"
    assert describe("Task", {"description": "check the tests"}, WS) == (
        "🤖 agent started: check the tests"
    )


def test_error_sentences_say_what_to_do() -> None:
    """API failures are told plainly, with the way to retry."""
    assert from_api_status(529, None).message.startswith("Anthropic is overloaded right now")
    assert "reply *retry*" in from_api_status(529, None).message
    assert from_api_status(401, None).kind == "auth"
    assert timeout_text(1800) == "No answer within 30 minutes"

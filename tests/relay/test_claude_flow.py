"""Issue 3 end to end: phone simulator → relay → local host → real Claude Code CLI.

Claude Code talks to the scripted Anthropic stand-in, so its tools really run in
the user's workspace; the phone sees what a person on WhatsApp would see.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from cockpit.relay.follower import BACK, DOWN
from cockpit.store import hosts, users
from tests.fakes.anthropic import (
    AnthropicFake,
    conversation_text,
    error,
    has_tool_result,
    say,
    slow,
    tool,
    tool_results,
)
from tests.live import wait_until
from tests.relay.conftest import ADA, Stack, claude_overrides, running_stack

pytestmark = [pytest.mark.claude, pytest.mark.slow]


def git(folder: Path, *args: str) -> str:
    """The output of a git command in `folder`."""
    return subprocess.run(
        ["git", *args], cwd=folder, capture_output=True, text=True, check=True
    ).stdout.strip()


def _workspace(stack: Stack) -> Path:
    return (stack.settings.data_dir / "workspaces" / "15551230001").resolve()


def test_a_message_makes_claude_write_a_file(
    claude_stack: Stack, anthropic_fake: AnthropicFake
) -> None:
    """The phone sees "typing…" (no "on it" text), then Claude's answer with the cost line
    in one message; the file exists."""
    target = _workspace(claude_stack) / "hello.txt"
    anthropic_fake.script(
        [
            tool("Write", {"file_path": str(target), "content": "hello\n"}),
            say("I wrote **hello.txt**.", when=has_tool_result),
        ]
    )
    sent = claude_stack.send("please write hello.txt")
    bodies = claude_stack.wait_for("✅ Done")
    assert "👀 on it" not in bodies
    assert claude_stack.sim.state.get(sent["sid"]).status == "read"  # type: ignore[union-attr]
    answer = next(b for b in bodies if b.startswith("I wrote *hello.txt*."))
    assert answer.splitlines()[-1].startswith("✅ Done") and "$" in answer
    assert target.read_text() == "hello\n"


def test_bash_asks_for_approval_and_the_reply_decides(
    claude_stack: Stack, anthropic_fake: AnthropicFake
) -> None:
    """Tapping *Allow* runs the command; a typed "Deny." denies the next one and Claude
    is told."""
    anthropic_fake.script(
        [
            tool("Bash", {"command": "touch ran.txt && echo out-$((40+2))", "description": "run"}),
            say("It printed out-42.", when=has_tool_result),
        ]
    )
    claude_stack.send("run the script")
    claude_stack.wait_for("🔐")
    assert next(b["title"] for b in claude_stack.received()[-1].buttons) == "Allow"
    claude_stack.tap("Allow")
    claude_stack.wait_for("It printed out-42.")
    assert "out-42" in str(tool_results(anthropic_fake.main_requests[-1])[0]["content"])
    count = len(claude_stack.bodies())
    anthropic_fake.script(
        [
            tool("Bash", {"command": "touch nope.txt", "description": "touch"}),
            say("Understood, I won't.", when=has_tool_result),
        ]
    )
    claude_stack.send("now touch a file")
    wait_until(lambda: sum("🔐" in b for b in claude_stack.bodies()) == 2, timeout=30)
    claude_stack.send("Deny.")
    claude_stack.wait_for("Understood, I won't.")
    assert "✋ Denied. Claude was told." in claude_stack.bodies()[count:]
    assert tool_results(anthropic_fake.main_requests[-1])[0].get("is_error") is True
    assert not (_workspace(claude_stack) / "nope.txt").exists()


def test_allow_for_this_session_stops_further_questions(
    claude_stack: Stack, anthropic_fake: AnthropicFake
) -> None:
    """After reply 2, the same tool runs again without asking."""
    anthropic_fake.script(
        [
            tool("Bash", {"command": "touch one.txt", "description": "one"}),
            tool("Bash", {"command": "touch two.txt", "description": "two"}, when=has_tool_result),
            say("Both ran.", when=has_tool_result),
        ]
    )
    claude_stack.send("run two commands")
    claude_stack.wait_for("🔐")
    claude_stack.send("2")
    bodies = claude_stack.wait_for("Both ran.")
    assert sum("🔐" in b for b in bodies) == 1
    assert (_workspace(claude_stack) / "two.txt").exists()


def test_an_overloaded_anthropic_is_told_plainly_and_retry_runs_it_again(
    claude_stack: Stack, anthropic_fake: AnthropicFake
) -> None:
    """A 529 becomes a clear message; *retry* runs the kept message again."""
    anthropic_fake.script([error(529, "overloaded_error")])
    claude_stack.send("summarise the repo")
    bodies = claude_stack.wait_for("⚠️")
    assert "overloaded" in bodies[-1].lower() and "retry" in bodies[-1].lower()
    anthropic_fake.script([say("Here is the summary.")])
    claude_stack.send("Retry")
    claude_stack.wait_for("Here is the summary.")
    assert "summarise the repo" in conversation_text(anthropic_fake.main_requests[-1])


def test_many_tool_calls_send_no_more_progress_than_the_throttle_allows(
    claude_stack: Stack, anthropic_fake: AnthropicFake
) -> None:
    """Twelve tool calls in one turn produce at most one progress message per 20 s."""
    workspace = _workspace(claude_stack)
    steps = [tool("Write", {"file_path": str(workspace / "f0.txt"), "content": "0"})]
    steps += [
        tool("Write", {"file_path": str(workspace / f"f{i}.txt"), "content": str(i)},
             when=has_tool_result)
        for i in range(1, 12)
    ]  # fmt: skip
    anthropic_fake.script([*steps, say("Twelve files.", when=has_tool_result)])
    claude_stack.send("write twelve files")
    bodies = claude_stack.wait_for("✅ Done", timeout=60)
    assert len(list(workspace.glob("f*.txt"))) == 12
    progress = [b for b in bodies if b.startswith(("✏️", "📖", "🧪", "🔎", "🤖", "⚙️"))]
    assert len(progress) <= 1, bodies


def test_after_a_restart_the_next_message_continues_the_same_claude_session(
    claude_db: str, tmp_path: Path, anthropic_fake: AnthropicFake
) -> None:
    """Relay and host restarted: Claude still sees the earlier conversation."""
    overrides = claude_overrides(anthropic_fake)
    with running_stack(claude_db, tmp_path / "data", **overrides) as first:
        anthropic_fake.script([say("Noted: the codename is BLUEBIRD.")])
        first.send("remember the codename BLUEBIRD")
        first.wait_for("✅ Done", timeout=60)
    with running_stack(claude_db, tmp_path / "data", **overrides) as second:
        anthropic_fake.script([say("The codename was BLUEBIRD.")])
        second.send("what was the codename?")
        bodies = second.wait_for("✅ Done", timeout=60)
        assert any(b.startswith("The codename was BLUEBIRD.") for b in bodies)
        user = users.find_by_phone(second.db, ADA)
        assert user is not None
        assert [t.state for t in hosts.turns_of(second.db, user.id)] == ["done", "done"]
    assert "remember the codename BLUEBIRD" in conversation_text(anthropic_fake.main_requests[-1])


def test_stop_ends_a_long_running_command_within_five_seconds(
    claude_stack: Stack, anthropic_fake: AnthropicFake
) -> None:
    """*stop* interrupts an approved minute-long command and the phone is told it stopped."""
    command = 'python3 -c "import time; time.sleep(60)"'
    anthropic_fake.script(
        [
            tool("Bash", {"command": command, "description": "wait a minute"}),
            say("It finished.", when=has_tool_result),
        ]
    )
    claude_stack.send("wait for a minute")
    claude_stack.wait_for("🔐")  # it says what the "🧪 running" line would have
    claude_stack.send("1")
    claude_stack.wait_for("👍 Allowed.")
    claude_stack.send("Stop!")
    claude_stack.wait_for("⏹ Stopping…", timeout=5)
    wait_until(
        lambda: any(b.startswith(("⏹ Stopped", "⚠️")) for b in claude_stack.bodies()), timeout=5
    )
    assert "It finished." not in claude_stack.bodies()


def test_a_host_killed_mid_turn_is_restarted_and_resume_continues(
    claude_stack: Stack, anthropic_fake: AnthropicFake
) -> None:
    """The phone hears once that the workspace restarted, with its last commit; *resume* works.

    Whether the host was down long enough for "not answering" (and "back") depends on how
    fast it restarts; the restart notice itself says it is back."""
    workspace = _workspace(claude_stack)
    anthropic_fake.script(
        [
            tool("Write", {"file_path": str(workspace / "a.txt"), "content": "a"}),
            slow(30.0, say("never seen"), when=has_tool_result),
        ]
    )
    claude_stack.send("write a.txt and think hard")
    claude_stack.wait_for("✏️")
    record = json.loads((claude_stack.settings.data_dir / "hosts/15551230001/host.pid").read_text())
    os.kill(record["pid"], signal.SIGKILL)
    bodies = claude_stack.wait_for("restarted", timeout=60)
    (notice,) = [b for b in bodies if "restarted" in b]
    assert "Last commit" in notice and "*resume*" in notice
    anthropic_fake.script([say("Resumed and done.")])
    claude_stack.send("resume")
    claude_stack.wait_for("✅ Done", timeout=60)
    head = git(workspace, "log", "-1", "--format=%h %s").split(" ", 1)
    restarted = (
        f"⚠️ Your workspace restarted while this ran. Last commit {head[0][:7]} “{head[1]}”. "
        "Reply *resume* to continue."
    )
    back = BACK.format(commit=f" (last commit {head[0][:7]} “{head[1]}”)")
    bodies = claude_stack.bodies()
    core = [b for b in bodies if b not in (DOWN, back)]
    assert core[:-1] == ["✏️ writing a.txt", restarted]  # typing… instead of "👀 on it"
    assert core[-1].startswith("Resumed and done.\n\n✅ Done · ")
    assert [b for b in bodies if b in (DOWN, back)] in ([], [DOWN], [DOWN, back])

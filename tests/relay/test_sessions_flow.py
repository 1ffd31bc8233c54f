"""Issue 5 end to end: commands, sessions and quoted replies, through the phone."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from cockpit.store import hosts, users
from tests.fakes.anthropic import (
    AnthropicFake,
    conversation_text,
    has_tool_result,
    say,
    slow,
    tool,
)
from tests.live import wait_until
from tests.relay.conftest import ADA, CLASSIC_THREAD, Stack

pytestmark = [pytest.mark.claude, pytest.mark.slow]


@pytest.fixture
def thread() -> dict[str, Any]:
    """This module checks replies one by one: the classic thread ("👀 on it", no joins)."""
    return CLASSIC_THREAD


def _after(stack: Stack, count: int, text: str, timeout: float = 30) -> list[str]:
    """The messages after the first `count`, once one of them contains `text`."""
    wait_until(lambda: any(text in b for b in stack.bodies()[count:]), timeout=timeout)
    return stack.bodies()[count:]


def _reply(stack: Stack, count: int, text: str, timeout: float = 30) -> str:
    """The first message after the first `count` that contains `text`."""
    return next(b for b in _after(stack, count, text, timeout) if text in b)


def test_status_works_typed_or_dictated_and_near_misses_get_a_suggestion(
    claude_stack: Stack, anthropic_fake: AnthropicFake
) -> None:
    """ "Status." answers from the relay; "/stauts" earns a hint; a sentence goes to Claude."""
    claude_stack.send("Status.")
    (status,) = _after(claude_stack, 0, "📋")
    assert "Host " in status and "branch" in status
    claude_stack.send("/stauts")
    assert _reply(claude_stack, 1, "Did you mean /status?")
    anthropic_fake.script([say("The build is green.")])
    claude_stack.send("what is the status of the build?")
    _after(claude_stack, 2, "The build is green.")
    assert "what is the status of the build?" in conversation_text(anthropic_fake.main_requests[-1])


def test_help_lists_the_commands_in_one_message(claude_stack: Stack) -> None:
    """/help is one message under WhatsApp's limit naming the commands."""
    claude_stack.send("/help")
    (text,) = _after(claude_stack, 0, "/status")
    assert len(text) < 1600 and "/new" in text and "/cost" in text


def _claude_working_in(folder: Path) -> bool:
    """Whether a `claude` process runs with `folder` as its working directory."""
    for proc in Path("/proc").iterdir():
        try:
            running = (proc / "cmdline").read_bytes().split(b"\0")[0].endswith(b"claude")
            if running and (proc / "cwd").resolve() == folder:
                return True
        except OSError:
            continue
    return False


def test_sessions_keep_their_memories_apart_and_tag_their_messages(
    claude_stack: Stack, anthropic_fake: AnthropicFake, tmp_path: Path
) -> None:
    """/new starts a fresh Claude (already running when the user writes its first
    message); /switch and quoting go back to the old one's memory."""
    anthropic_fake.script([say("Noted: apple.")])
    claude_stack.send("remember the word apple")
    claude_stack.wait_for("✅ Done", timeout=60)
    apple_sid = next(m.sid for m in claude_stack.received() if m.body == "Noted: apple.")
    n = len(claude_stack.bodies())
    claude_stack.send("/new work")
    assert _reply(claude_stack, n, "🆕")
    hosts_dir = tmp_path / "data" / "hosts"
    wait_until(
        lambda: any(_claude_working_in(w.resolve()) for w in hosts_dir.glob("*/worktrees/work")),
        timeout=30,
    )
    anthropic_fake.script([say("I know nothing yet.")])
    claude_stack.send("what word did I say?")
    bodies = _after(claude_stack, n, "✅ Done", timeout=60)
    assert "[work] I know nothing yet." in bodies
    assert "apple" not in conversation_text(anthropic_fake.main_requests[-1])
    n = len(claude_stack.bodies())
    anthropic_fake.script([say("You said apple.")])
    claude_stack.send("which word was it?", reply_to=apple_sid)  # quoting main's message
    bodies = _after(claude_stack, n, "You said apple.", timeout=60)
    assert "[main] You said apple." in bodies
    assert "apple" in conversation_text(anthropic_fake.main_requests[-1])
    n = len(claude_stack.bodies())
    claude_stack.send("/sessions")
    listing = _reply(claude_stack, n, "/switch")
    assert re.search(r"\*1\* main", listing) and re.search(r"▶ \*2\* work", listing)
    claude_stack.send("/switch 1")
    assert _reply(claude_stack, n, "Now talking to *main*")
    claude_stack.send("Resume work.")
    assert _reply(claude_stack, n, "Now talking to *work*")


def test_history_and_cost_agree_with_the_recorded_results(
    claude_stack: Stack, anthropic_fake: AnthropicFake
) -> None:
    """The sums /cost reports are the sums of the turns' recorded costs."""
    for word in ("one", "two"):
        anthropic_fake.script([say(f"Done {word}.")])
        claude_stack.send(f"task {word}")
        wait_until(lambda w=word: f"Done {w}." in claude_stack.bodies(), timeout=60)
        wait_until(lambda: claude_stack.bodies()[-1].startswith("✅ Done"), timeout=30)
    user = users.find_by_phone(claude_stack.db, ADA)
    assert user is not None
    recorded = [t.cost_usd or 0.0 for t in hosts.turns_of(claude_stack.db, user.id)]
    n = len(claude_stack.bodies())
    claude_stack.send("/cost")
    cost = _reply(claude_stack, n, "💰")
    assert f"Today ${sum(recorded):.4f}" in cost and f"[main] ${sum(recorded):.4f}" in cost
    claude_stack.send("/history 2")
    history = _reply(claude_stack, n, "“task two”").splitlines()
    assert [line.split("“")[1].split("”")[0] for line in history] == ["task one", "task two"]
    assert all(f"${c:.4f}" in line for c, line in zip(recorded, history, strict=True))


def test_cancel_drops_a_queued_message(claude_stack: Stack, anthropic_fake: AnthropicFake) -> None:
    """A message sent while Claude works is queued; /cancel drops it and it never runs."""
    anthropic_fake.script([slow(4.0, say("First is done."))])
    claude_stack.send("first, slowly")
    claude_stack.wait_for("👀 on it")
    claude_stack.send("second")
    claude_stack.wait_for("⏳ Queued")
    claude_stack.send("/cancel")
    claude_stack.wait_for("Dropped 1 queued message.")
    claude_stack.wait_for("First is done.", timeout=60)
    wait_until(lambda: claude_stack.bodies()[-1].startswith(("✅ Done", "⚠️")), timeout=30)
    assert all("second" not in conversation_text(r) for r in anthropic_fake.main_requests)


def test_full_gives_the_whole_of_a_long_answer(
    claude_stack: Stack, anthropic_fake: AnthropicFake
) -> None:
    """A long answer arrives in parts; /full links to a page with all of it."""
    answer = "\n\n".join(f"Section {i}: " + "detail " * 60 for i in range(12))
    anthropic_fake.script([say(answer)])
    claude_stack.send("explain everything")
    bodies = claude_stack.wait_for("✅ Done", timeout=60)
    assert any(b.startswith("(1/") for b in bodies)
    claude_stack.send("/full")
    link = _reply(claude_stack, len(bodies), "/full/").split()[-1]
    page = httpx.get(link).text
    assert all(f"Section {i}:" in page for i in range(12))
    assert httpx.get(link[:-4] + "abcd").status_code == 404


def test_a_heavy_workflow_stays_readable_and_loses_nothing(
    claude_stack: Stack, anthropic_fake: AnthropicFake
) -> None:
    """Edit six files, run the tests, review: at most 12 messages, every change reachable."""
    workspace = (claude_stack.settings.data_dir / "workspaces" / "15551230001").resolve()
    names = [f"src/mod{i}.py" for i in range(6)]
    steps = [
        tool("Write", {"file_path": str(workspace / n), "content": f"VALUE = {i}\n"},
             when=has_tool_result if i else None)
        for i, n in enumerate(names)
    ]  # fmt: skip
    steps.append(tool("Bash", {"command": "touch .tested && echo 6 passed", "description": "test"},
                      when=has_tool_result))  # fmt: skip
    review = "Review: six modules now export VALUE; tests pass (6 passed). Ready to ship."
    anthropic_fake.script([*steps, say(review, when=has_tool_result)])
    claude_stack.send("/ship the VALUE change")
    claude_stack.wait_for("🔐", timeout=60)
    claude_stack.send("1")
    bodies = claude_stack.wait_for("✅ Done", timeout=90)
    received = claude_stack.received()
    assert len(received) <= 12, bodies
    assert review in bodies
    assert any("7 files changed" in b for b in bodies)  # six modules and .tested
    images = [m for m in received if m.media]
    wait_until(lambda: all(m.media[0].data for m in images), timeout=20)
    assert len(images) == 1  # one overview instead of six diffs
    n = len(claude_stack.bodies())
    claude_stack.send("show mod3")
    wait_until(lambda: any(m.media for m in claude_stack.received()[n:]), timeout=60)


def test_two_sessions_run_at_once_in_their_own_worktrees(
    claude_stack: Stack, anthropic_fake: AnthropicFake
) -> None:
    """A second session finishes while the first still works; each writes its own copy."""
    workspace = (claude_stack.settings.data_dir / "workspaces" / "15551230001").resolve()
    worktree = (claude_stack.settings.data_dir / "hosts/15551230001/worktrees/beta").resolve()

    def main(body: dict[str, object]) -> bool:
        return "main task" in conversation_text(body)

    def beta(body: dict[str, object]) -> bool:
        return "beta task" in conversation_text(body)

    anthropic_fake.script(
        [
            slow(8.0, tool("Write", {"file_path": str(workspace / "same.txt"), "content": "main"}),
                 when=lambda b: main(b) and not has_tool_result(b)),
            say("main wrote it", when=lambda b: main(b) and has_tool_result(b)),
            tool("Write", {"file_path": str(worktree / "same.txt"), "content": "beta"},
                 when=lambda b: beta(b) and not has_tool_result(b)),
            say("beta wrote it", when=lambda b: beta(b) and has_tool_result(b)),
        ]
    )  # fmt: skip
    claude_stack.send("main task")
    claude_stack.wait_for("👀 on it")
    claude_stack.send("/new beta")
    claude_stack.wait_for("🆕")
    claude_stack.send("beta task")
    bodies = claude_stack.wait_for("[beta] beta wrote it", timeout=60)
    assert "[main] main wrote it" not in bodies  # beta did not wait for main
    bodies = claude_stack.wait_for("[main] main wrote it", timeout=60)
    assert (workspace / "same.txt").read_text() == "main"
    assert (worktree / "same.txt").read_text() == "beta"
    assert any(b.startswith("📋") and "[beta]" in b and "[main]" in b for b in bodies)

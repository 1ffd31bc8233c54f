"""Recovery end to end with the real Claude Code CLI: a host that dies, and failed deliveries.

Phone simulator → relay → local host (supervised by the local provisioner) → Claude Code
against the scripted Anthropic stand-in.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from cockpit.store import hosts, outbox, reports, users
from tests.fakes.anthropic import (
    AnthropicFake,
    Predicate,
    conversation_text,
    last_user_text,
    say,
)
from tests.live import wait_until
from tests.relay.conftest import ADA, Stack

pytestmark = [pytest.mark.claude, pytest.mark.slow]


def _about(word: str) -> Predicate:
    return lambda body: word in last_user_text(body)


def _commit(workspace: Path, subject: str) -> str:
    """Commit in the user's workspace as the user would; returns the short sha."""
    identity = ["-c", "user.name=Ada", "-c", "user.email=ada@example.com"]
    subprocess.run(["git", *identity, "-C", str(workspace), "commit", "-q", "--allow-empty",
                    "-m", subject], check=True)  # fmt: skip
    done = subprocess.run(
        ["git", "-C", str(workspace), "rev-parse", "--short=7", "HEAD"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return done.stdout.strip()


def _done_count(stack: Stack) -> int:
    return sum("✅ Done" in b for b in stack.bodies())  # on its own or joined to the answer


def test_a_killed_host_is_restarted_told_once_with_the_commit_and_queued_messages_go_in_order(
    claude_stack: Stack, anthropic_fake: AnthropicFake
) -> None:
    """SIGKILL the idle host, write twice while it is down: one restart notice with the last
    commit; both messages reach Claude in order and each answer arrives once, in order."""
    stack = claude_stack
    workspace = (stack.settings.data_dir / "workspaces" / "15551230001").resolve()
    sha = _commit(workspace, "Add the login page")
    anthropic_fake.script(
        [say("Answer one.", when=_about("first")), say("Answer two.", when=_about("second"))]
    )
    ada = users.find_by_phone(stack.db, ADA)
    assert ada is not None
    wait_until(lambda: hosts.get_link(stack.db, ada.id).host_boot)  # the relay follows it
    record = json.loads((stack.settings.data_dir / "hosts/15551230001/host.pid").read_text())
    os.kill(record["pid"], signal.SIGKILL)
    stack.send("first")
    stack.send("second")
    wait_until(lambda: _done_count(stack) >= 2, timeout=90)
    bodies = stack.bodies()
    notices = [b for b in bodies if "restarted" in b]
    assert notices == [
        f"🔄 Your workspace restarted (last commit {sha} “Add the login page”). Nothing is "
        "lost: messages you sent meanwhile go on now."
    ]
    one = [i for i, b in enumerate(bodies) if b.startswith("Answer one.")]
    two = [i for i, b in enumerate(bodies) if b.startswith("Answer two.")]
    assert len(one) == 1 and len(two) == 1  # each with its ✅ line joined
    assert bodies.index(notices[0]) < one[0] < two[0]
    asked = [conversation_text(r) for r in anthropic_fake.main_requests]
    firsts = [i for i, text in enumerate(asked) if "first" in text]
    seconds = [i for i, text in enumerate(asked) if "second" in text]
    assert firsts and seconds and firsts[0] < seconds[0]


def test_status_names_the_latest_failed_delivery_and_an_operator_retry_delivers_it(
    claude_stack: Stack,
) -> None:
    """A reply the phone never got shows in /status in plain words; retrying it delivers it."""
    stack = claude_stack
    stack.sim.faults.undelivered_next = 1
    stack.send("/cancel")
    wait_until(lambda: reports.failed_count(stack.db, ADA) == 1)
    stack.send("/status")
    status = stack.wait_for("could not be delivered")[-1]
    assert (
        "⚠️ 1 message(s) could not be delivered to you. Latest: your phone was unreachable "
        "(error 30003)." in status
    )
    (failed,) = [r for r in outbox.for_recipient(stack.db, ADA) if r.status == "undelivered"]
    assert outbox.retry_failed(stack.db, failed.id)
    stack.wait_for(failed.body)
    assert stack.bodies()[-1] == failed.body and reports.failed_count(stack.db, ADA) == 0

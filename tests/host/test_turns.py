"""Turns through the real Claude Code CLI, against the scripted Anthropic stand-in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fakes.anthropic import (
    AnthropicFake,
    conversation_text,
    error,
    has_tool_result,
    say,
    tool,
    tool_results,
)
from tests.requirements import require_claude_cli

pytestmark = pytest.mark.claude


@pytest.fixture(autouse=True)
def _claude() -> None:
    require_claude_cli()


async def test_turn_writes_a_file_and_streams_its_events(
    start_host: Any, anthropic_fake: AnthropicFake
) -> None:
    """A message makes Claude write a file; the phone gets ack, progress, text and result."""
    host = await start_host()
    target = host.workspace / "hello.txt"
    anthropic_fake.script(
        [
            tool("Write", {"file_path": str(target), "content": "hello\n"}),
            say("I wrote hello.txt.", when=has_tool_result),
        ]
    )
    events = host.reader()
    answer = await host.turn("t1", "write hello.txt")
    assert answer["turn_id"] == "t1"
    result = await events.finished("t1")
    assert target.read_text() == "hello\n"
    types = [e["type"] for e in events.events]
    assert types[0] == "ack" and types[-1] == "result"
    progress = events.of("progress", "t1")
    assert [p["text"] for p in progress] == ["✏️ writing hello.txt"]
    assert events.of("text", "t1")[0]["text"] == "I wrote hello.txt."
    assert result["total_cost_usd"] > 0 and result["claude_session_id"]
    assert result["is_error"] is False and result["interrupted"] is False
    turn = (await host.client.get("/turns/t1")).json()
    assert turn["state"] == "done" and turn["text"] == "write hello.txt"


async def test_bash_allowed_runs_and_its_output_reaches_claude(
    start_host: Any, anthropic_fake: AnthropicFake
) -> None:
    """A Bash call waits for approval; once allowed, its output is the next tool_result."""
    host = await start_host()
    anthropic_fake.script(
        [
            tool("Bash", {"command": "touch made.txt && echo out-$((40+2))", "description": "x"}),
            say("ran it", when=has_tool_result),
        ]
    )
    events = host.reader()
    await host.turn("t1", "run it")
    request = await events.wait_type("approval_request", "t1")
    assert request["tool"] == "Bash"
    assert request["summary"] == "Run `touch made.txt && echo out-$((40+2))`?"
    assert not (host.workspace / "made.txt").exists()
    await host.approve(request["approval_id"], "allow")
    await events.finished("t1")
    assert (host.workspace / "made.txt").exists()
    results = tool_results(anthropic_fake.main_requests[-1])
    assert "out-42" in str(results[0]["content"])
    resolved = events.of("approval_resolved", "t1")[0]
    assert resolved["decision"] == "allow" and resolved["by"] == "user"
    again = await host.client.post(
        f"/approvals/{request['approval_id']}", json={"decision": "deny"}
    )
    assert again.status_code == 409


async def test_bash_denied_tells_claude_why(start_host: Any, anthropic_fake: AnthropicFake) -> None:
    """A denied Bash call does not run, and Claude's next request carries the reason."""
    host = await start_host()
    anthropic_fake.script(
        [
            tool("Bash", {"command": "touch nope.txt", "description": "x"}),
            say("ok, I won't", when=has_tool_result),
        ]
    )
    events = host.reader()
    await host.turn("t1", "run it")
    request = await events.wait_type("approval_request", "t1")
    await host.approve(request["approval_id"], "deny", "not on main, please")
    await events.finished("t1")
    assert not (host.workspace / "nope.txt").exists()
    result = tool_results(anthropic_fake.main_requests[-1])[0]
    assert result.get("is_error") is True
    assert "not on main, please" in str(result["content"])


async def test_allow_session_stops_further_questions_for_that_tool(
    start_host: Any, anthropic_fake: AnthropicFake
) -> None:
    """After "allow for this session", later Bash calls of the session run without asking."""
    host = await start_host()
    anthropic_fake.script(
        [
            tool("Bash", {"command": "touch one.txt", "description": "x"}),
            tool("Bash", {"command": "touch two.txt", "description": "x"}, when=has_tool_result),
            say("both done", when=has_tool_result),
        ]
    )
    events = host.reader()
    await host.turn("t1", "run two things")
    request = await events.wait_type("approval_request", "t1")
    await host.approve(request["approval_id"], "allow_session")
    await events.finished("t1")
    anthropic_fake.script(
        [
            tool("Bash", {"command": "touch three.txt", "description": "x"}),
            say("three done", when=has_tool_result),
        ]
    )
    await host.turn("t2", "and a third")
    await events.finished("t2")
    assert all((host.workspace / f"{n}.txt").exists() for n in ("one", "two", "three"))
    assert len(events.of("approval_request")) == 1


async def test_restarted_host_resumes_the_claude_session(
    start_host: Any, anthropic_fake: AnthropicFake, tmp_path: Path
) -> None:
    """A new host process on the same data folder continues the session's conversation."""
    first = await start_host(tmp_path / "data")
    anthropic_fake.script([say("Noted: the code word is PELICAN.")])
    events = first.reader()
    await first.turn("t1", "remember the code word PELICAN")
    first_result = await events.finished("t1")
    await first.stop()
    second = await start_host(tmp_path / "data")
    anthropic_fake.script([say("It was PELICAN.")])
    events = second.reader(after=first_result["seq"])
    await second.turn("t2", "what was the code word?")
    result = await events.finished("t2")
    assert result["type"] == "result"
    assert result["claude_session_id"] == first_result["claude_session_id"]
    last = conversation_text(anthropic_fake.main_requests[-1])
    assert "remember the code word PELICAN" in last and "Noted: the code word" in last
    assert events.events[0]["seq"] == first_result["seq"] + 1


@pytest.mark.parametrize(
    ("status", "kind", "words"),
    [
        (529, "overloaded", "overloaded right now (529)"),
        (500, "api_error", "error (500)"),
        (401, "auth", "API key was refused by Anthropic (401)"),
    ],
)
async def test_api_errors_become_a_plain_error_event(
    start_host: Any, anthropic_fake: AnthropicFake, status: int, kind: str, words: str
) -> None:
    """An Anthropic error ends the turn with a clear error; the turn is kept as failed."""
    host = await start_host()
    type_ = {529: "overloaded_error", 500: "api_error", 401: "authentication_error"}[status]
    anthropic_fake.script([error(status, type_, times=5)])
    events = host.reader()
    await host.turn("t1", "fix the login page")
    failure = await events.finished("t1")
    assert failure["type"] == "error" and failure["kind"] == kind
    assert words in failure["message"] and failure["retryable"] is True
    turn = (await host.client.get("/turns/t1")).json()
    assert turn["state"] == "failed" and turn["text"] == "fix the login page"
    assert turn["error_kind"] == kind


async def test_second_message_waits_for_the_first(
    start_host: Any, anthropic_fake: AnthropicFake
) -> None:
    """A message arriving while another runs is queued, acknowledged so, and runs after."""
    host = await start_host()
    anthropic_fake.script(
        [
            say(
                "first answer",
                when=lambda b: (
                    "first message" in conversation_text(b)
                    and "second message" not in conversation_text(b)
                ),
            ),
            say("second answer", when=lambda b: "second message" in conversation_text(b)),
        ]
    )
    events = host.reader()
    one = await host.turn("t1", "first message")
    two = await host.turn("t2", "second message")
    assert one["position"] == 0 and two["position"] == 1 and two["state"] == "queued"
    ack = await events.wait_type("ack", "t2")
    assert ack["queued"] is True and ack["position"] == 1
    await events.finished("t2")
    finishes = [e["turn_id"] for e in events.events if e["type"] == "result"]
    assert finishes == ["t1", "t2"]
    assert [e["text"] for e in events.of("text")] == ["first answer", "second answer"]


async def test_twelve_tool_calls_make_twelve_progress_events(
    start_host: Any, anthropic_fake: AnthropicFake
) -> None:
    """Every tool call of a turn is reported as its own progress event."""
    host = await start_host()
    writes = [
        ("Write", {"file_path": str(host.workspace / f"f{i}.txt"), "content": f"{i}\n"})
        for i in range(12)
    ]
    anthropic_fake.script([tool(*writes[0], *writes[1:]), say("12 files", when=has_tool_result)])
    events = host.reader()
    await host.turn("t1", "make twelve files")
    await events.finished("t1")
    progress = events.of("progress", "t1")
    assert len(progress) == 12
    assert {p["text"] for p in progress} == {f"✏️ writing f{i}.txt" for i in range(12)}
    assert len(list(host.workspace.glob("f*.txt"))) == 12


async def test_without_any_credential_the_answer_names_the_fix(
    start_host: Any, anthropic_fake: AnthropicFake
) -> None:
    """No API key and no subscription token: the turn fails with one plain sentence that
    names both settings and `claude setup-token`, never Claude Code's "Please run /login"."""
    host = await start_host(anthropic_api_key=None)
    events = host.reader()
    await host.turn("t1", "fix the login page")
    failure = await events.finished("t1")
    assert failure["type"] == "error" and failure["kind"] == "auth"
    assert "ANTHROPIC_API_KEY" in failure["message"]
    assert "CLAUDE_CODE_OAUTH_TOKEN" in failure["message"]
    assert "claude setup-token" in failure["message"]
    assert "/login" not in failure["message"]
    assert not [e for e in events.events if e["type"] == "text"]  # nothing else said
    assert anthropic_fake.main_requests == []


async def test_a_subscription_token_reaches_claude_code(
    start_host: Any, anthropic_fake: AnthropicFake
) -> None:
    """With only CLAUDE_CODE_OAUTH_TOKEN, Claude Code answers, sending the token as a
    bearer credential to Anthropic."""
    token = "sk-ant-oat01-" + "T0k3n" * 12
    host = await start_host(anthropic_api_key=None, claude_code_oauth_token=token)
    anthropic_fake.script([say("Hello from the subscription.")])
    events = host.reader()
    await host.turn("t1", "hi")
    result = await events.finished("t1")
    assert result["type"] == "result", result
    assert f"Bearer {token}" in anthropic_fake.authorizations

"""Stopping turns, phone tools, approval timeouts and event replay, with the real CLI."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import pytest

from tests.fakes.anthropic import (
    AnthropicFake,
    has_tool_result,
    last_user_text,
    say,
    tool,
    tool_results,
)
from tests.requirements import require_claude_cli

pytestmark = pytest.mark.claude

LONG_COMMAND = 'python3 -c "import time; time.sleep(60)"'


@pytest.fixture(autouse=True)
def _claude() -> None:
    require_claude_cli()


async def test_interrupt_stops_a_long_running_command(
    start_host: Any, anthropic_fake: AnthropicFake
) -> None:
    """Interrupting a turn stuck in an approved 60 s command ends it within 5 seconds."""
    host = await start_host()
    anthropic_fake.script([tool("Bash", {"command": LONG_COMMAND, "description": "wait"})])
    events = host.reader()
    await host.turn("t1", "wait a minute")
    request = await events.wait_type("approval_request", "t1")
    await host.approve(request["approval_id"], "allow")
    await asyncio.sleep(0.5)
    started = time.monotonic()
    answer = await host.client.post("/turns/t1/interrupt")
    end = await events.finished("t1", within=5)
    assert time.monotonic() - started < 5
    assert answer.status_code == 200
    assert end.get("interrupted") is True or end.get("kind") == "interrupted"
    turn = (await host.client.get("/turns/t1")).json()
    assert turn["state"] == "interrupted"
    missing = await host.client.post("/turns/nope/interrupt")
    assert missing.status_code == 404


async def test_queued_turns_are_dropped_not_run(
    start_host: Any, anthropic_fake: AnthropicFake
) -> None:
    """Interrupting a queued turn, or cancelling a session's queue, drops turns unrun."""
    host = await start_host()
    anthropic_fake.script([tool("Bash", {"command": LONG_COMMAND, "description": "wait"})])
    events = host.reader()
    await host.turn("t1", "wait a minute")
    await events.wait_type("approval_request", "t1")
    for turn_id in ("t2", "t3", "t4"):
        assert (await host.turn(turn_id, f"later {turn_id}"))["state"] == "queued"
    dropped = await host.client.post("/turns/t2/interrupt")
    assert dropped.json()["state"] == "cancelled"
    cancelled = await host.client.post("/turns/cancel-queued", json={"session": "main"})
    assert cancelled.json()["cancelled"] == 2
    await host.client.post("/turns/t1/interrupt")
    await events.finished("t1")
    states = [(await host.client.get(f"/turns/{t}")).json()["state"] for t in ("t2", "t3")]
    assert states == ["cancelled", "cancelled"]
    assert not any("later" in last_user_text(r) for r in anthropic_fake.requests)


async def test_phone_tools_message_image_and_question(
    start_host: Any, anthropic_fake: AnthropicFake
) -> None:
    """Claude's phone tools reach the phone: a message, an image to fetch, a question."""
    host = await start_host()
    (host.workspace / "shot.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    anthropic_fake.script(
        [
            tool("mcp__phone__send_message", {"text": "Halfway there"}),
            tool(
                "mcp__phone__send_image",
                {"path": "shot.png", "caption": "the page"},
                when=has_tool_result,
            ),
            tool(
                "mcp__phone__send_image",
                {"path": "/etc/hostname", "caption": "x"},
                when=has_tool_result,
            ),
            tool(
                "mcp__phone__ask_user",
                {"question": "Blue or green?", "options": ["blue", "green"]},
                when=has_tool_result,
            ),
            say("Green it is.", when=has_tool_result),
        ]
    )
    events = host.reader()
    await host.turn("t1", "show me")
    assert (await events.wait_type("message", "t1"))["text"] == "Halfway there"
    image = await events.wait_type("image", "t1")
    assert image["caption"] == "the page" and image["content_type"] == "image/png"
    fetched = await host.client.get(f"/files/{image['image_id']}")
    assert fetched.status_code == 200 and fetched.content == b"\x89PNG\r\n\x1a\nfake"
    question = await events.wait_type("question", "t1")
    assert question["options"] == ["blue", "green"]
    answered = await host.client.post(
        f"/questions/{question['question_id']}", json={"answer": "green"}
    )
    assert answered.status_code == 200
    await events.finished("t1")
    outside = tool_results(anthropic_fake.main_requests[3])[0]
    assert "outside the workspace" in str(outside["content"])
    assert "The user answered: green" in str(tool_results(anthropic_fake.main_requests[4]))
    assert len(events.of("image")) == 1


async def test_unanswered_approval_is_denied_after_the_timeout(
    start_host: Any, anthropic_fake: AnthropicFake
) -> None:
    """An approval nobody answers is denied by timeout, and Claude is told so."""
    host = await start_host(approval_timeout_seconds=1.0)
    anthropic_fake.script(
        [
            tool("Bash", {"command": "touch late.txt", "description": "x"}),
            say("no answer, skipped", when=has_tool_result),
        ]
    )
    events = host.reader()
    await host.turn("t1", "run it")
    resolved = await events.wait_type("approval_resolved", "t1")
    assert resolved["by"] == "timeout" and resolved["decision"] == "deny"
    await events.finished("t1")
    assert "No answer within 1 second" in str(tool_results(anthropic_fake.main_requests[-1]))
    assert not (host.workspace / "late.txt").exists()


async def test_reconnecting_reader_misses_nothing_and_repeats_nothing(
    start_host: Any, anthropic_fake: AnthropicFake
) -> None:
    """A reader reconnecting with Last-Event-ID gets exactly the events after that id."""
    host = await start_host()
    anthropic_fake.script([say("one")])
    first = host.reader()
    await host.turn("t1", "first")
    await first.finished("t1")
    await first.close()
    cut = first.ids[1]
    anthropic_fake.script([say("two")])
    await host.turn("t2", "second")
    again = host.reader(after=0, last_event_id=cut)
    await again.finished("t2")
    seqs = [e["seq"] for e in again.events]
    assert seqs == sorted(set(seqs)) and seqs[0] == int(cut) + 1
    assert [e["seq"] for e in first.events][2:] == seqs[: len(first.events) - 2]
    assert again.ids == [str(s) for s in seqs]


async def test_attachments_are_saved_and_named_in_the_prompt(
    start_host: Any, anthropic_fake: AnthropicFake
) -> None:
    """A photo sent with a message lands in the workspace inbox and Claude is told its path."""
    host = await start_host()
    anthropic_fake.script([say("Nice photo.")])
    events = host.reader()
    media = [
        {
            "filename": "photo.jpg",
            "content_type": "image/jpeg",
            "data_b64": base64.b64encode(b"jpegbytes").decode(),
        }
    ]
    await host.turn("t1", "look at this", media=media, reply_to="the earlier diff")
    await events.finished("t1")
    saved = host.workspace / ".cockpit" / "inbox" / "t1" / "photo.jpg"
    assert saved.read_bytes() == b"jpegbytes"
    prompt = last_user_text(anthropic_fake.main_requests[0])
    assert ".cockpit/inbox/t1/photo.jpg (image/jpeg)" in prompt
    assert "the earlier diff" in prompt and "look at this" in prompt

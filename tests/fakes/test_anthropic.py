"""The Anthropic stand-in speaks the Messages API's documented wire format."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import pytest

from tests.fakes.anthropic import (
    AnthropicFake,
    cut,
    error,
    has_tool_result,
    held,
    say,
    slow,
    tool,
)

TOOLS = [{"name": "Bash", "input_schema": {"type": "object"}}]


def _body(content: Any = "hi", stream: bool = True, tools: Any = TOOLS) -> dict[str, Any]:
    return {
        "model": "claude-test",
        "max_tokens": 100,
        "stream": stream,
        "tools": tools,
        "messages": [{"role": "user", "content": content}],
    }


def _events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for chunk in response.text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in chunk.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_streamed_tool_call_follows_the_documented_event_order(
    anthropic_fake: AnthropicFake,
) -> None:
    """A scripted tool call streams message_start, block events, message_delta, message_stop."""
    anthropic_fake.script([tool("Bash", {"command": "ls -la"}, text="Let me look.")])
    with httpx.Client(base_url=anthropic_fake.url) as client:
        response = client.post("/v1/messages?beta=true", json=_body())
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _events(response)
    names = [name for name, _ in events]
    assert names == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert all(data["type"] == name for name, data in events)
    partial = "".join(
        d["delta"]["partial_json"]
        for n, d in events
        if n == "content_block_delta" and d["index"] == 1
    )
    assert json.loads(partial) == {"command": "ls -la"}
    delta = events[-2][1]
    assert delta["delta"]["stop_reason"] == "tool_use" and delta["usage"]["output_tokens"] > 0


def test_steps_are_matched_by_predicate_and_side_requests_skip_the_script(
    anthropic_fake: AnthropicFake,
) -> None:
    """A step waits for the request it matches; tool-less side requests get a generic text."""
    anthropic_fake.script([say("after the tool", when=has_tool_result), say("first")])
    with httpx.Client(base_url=anthropic_fake.url) as client:
        side = client.post("/v1/messages", json=_body(stream=False, tools=[]))
        first = client.post("/v1/messages", json=_body(stream=False))
        result = [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}]
        second = client.post("/v1/messages", json=_body(result, stream=False))
    assert side.json()["content"][0]["text"] == "OK"
    assert first.json()["content"] == [{"type": "text", "text": "first"}]
    assert second.json()["content"][0]["text"] == "after the tool"
    assert first.json()["stop_reason"] == "end_turn"
    assert len(anthropic_fake.requests) == 3 and anthropic_fake.pending == []


def test_errors_use_anthropics_error_shape(anthropic_fake: AnthropicFake) -> None:
    """An error step answers its status with {"type": "error", "error": {type, message}}."""
    anthropic_fake.script([error(529, "overloaded_error", "Overloaded", times=2)])
    with httpx.Client(base_url=anthropic_fake.url) as client:
        answers = [client.post("/v1/messages", json=_body()) for _ in range(3)]
        unknown = client.get("/v1/models")
        count = client.post("/v1/messages/count_tokens", json=_body())
    assert [a.status_code for a in answers] == [529, 529, 200]
    assert answers[0].json() == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }
    assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "not_found_error"
    assert anthropic_fake.unknown == ["GET /v1/models"]
    assert count.json()["input_tokens"] > 0


def test_cut_stream_stops_midway_and_slow_waits(anthropic_fake: AnthropicFake) -> None:
    """A cut stream ends without message_stop; a slow step still answers."""
    anthropic_fake.script([cut(), slow(0.2, say("late"))])
    with httpx.Client(base_url=anthropic_fake.url) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/v1/messages", json=_body())
        late = client.post("/v1/messages", json=_body(stream=False))
    assert late.json()["content"][0]["text"] == "late"


def test_a_held_step_answers_only_once_released(anthropic_fake: AnthropicFake) -> None:
    """A held step keeps the request waiting until the test sets its gate."""
    gate = threading.Event()
    anthropic_fake.script([held(gate, say("released"))])
    threading.Timer(0.3, gate.set).start()
    started = time.monotonic()
    with httpx.Client(base_url=anthropic_fake.url, timeout=10) as client:
        answer = client.post("/v1/messages", json=_body(stream=False))
    assert time.monotonic() - started >= 0.3
    assert answer.json()["content"][0]["text"] == "released"

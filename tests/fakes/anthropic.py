"""A scripted stand-in for Anthropic's Messages API, served over real HTTP on loopback.

Claude Code (the real CLI) is pointed at it with ``ANTHROPIC_BASE_URL``. Each model
request the CLI makes is answered by the next *step* of a script, in Anthropic's
streaming format (``message_start``, per content block ``content_block_start`` /
``content_block_delta`` / ``content_block_stop``, ``message_delta``, ``message_stop``)
or, for ``"stream": false``, as one JSON message.

    fake.script([tool("Write", {...}), say("done", when=has_tool_result)])

Steps: ``say(text)``, ``tool(name, input, ...)``, ``error(status, type)``, ``cut()``,
``slow(seconds, step)``, ``held(gate, step)`` (answers once the test sets ``gate``).
A step may carry ``when=predicate(request_body)``; the first
pending step whose predicate accepts the request answers it. Side requests of the CLI
(no tools offered, e.g. a title or a quota check) get a short generic text and do not
consume the script. Every request body is recorded in ``fake.requests``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

Body = dict[str, Any]
Predicate = Callable[[Body], bool]

INPUT_TOKENS = 1200
OUTPUT_TOKENS = 80


# --- script steps -------------------------------------------------------------------


@dataclass
class Step:
    """One scripted answer to one model request."""

    when: Predicate | None = field(default=None, kw_only=True)

    def accepts(self, body: Body) -> bool:
        """True if this step may answer the request `body`."""
        return self.when is None or self.when(body)


@dataclass
class Say(Step):
    """Answer with one text block and stop_reason end_turn."""

    text: str = ""


@dataclass
class ToolUse(Step):
    """Answer with one or several tool_use blocks and stop_reason tool_use."""

    calls: list[tuple[str, Body]] = field(default_factory=list)
    text: str | None = None


@dataclass
class Error(Step):
    """Answer with an HTTP error in Anthropic's error JSON shape."""

    status: int = 500
    type: str = "api_error"
    message: str = "Internal server error"
    times: int = 1


@dataclass
class Cut(Step):
    """Start streaming a text, then drop the connection mid-stream."""

    text: str = "I was about to"


@dataclass
class Slow(Step):
    """Wait `seconds` before answering with `step`."""

    seconds: float = 1.0
    step: Step = field(default_factory=Step)


@dataclass
class Held(Step):
    """Answer with `step` only once the test sets `gate` (a model that takes its time)."""

    gate: threading.Event = field(default_factory=threading.Event)
    step: Step = field(default_factory=Step)


def say(text: str, *, when: Predicate | None = None) -> Say:
    """A step answering with `text`."""
    return Say(text=text, when=when)


def tool(
    name: str,
    input: Body,
    *more: tuple[str, Body],
    when: Predicate | None = None,
    text: str | None = None,
) -> ToolUse:
    """A step calling tool `name` with `input` (plus more `(name, input)` pairs)."""
    return ToolUse(calls=[(name, input), *more], text=text, when=when)


def error(
    status: int,
    type: str,
    message: str | None = None,
    *,
    times: int = 1,
    when: Predicate | None = None,
) -> Error:
    """A step answering `times` requests with HTTP `status` and Anthropic error `type`."""
    return Error(status=status, type=type, message=message or type, times=times, when=when)


def cut(text: str = "I was about to", *, when: Predicate | None = None) -> Cut:
    """A step whose stream stops in the middle."""
    return Cut(text=text, when=when)


def slow(seconds: float, step: Step, *, when: Predicate | None = None) -> Slow:
    """A step answering with `step` after `seconds`."""
    return Slow(seconds=seconds, step=step, when=when or step.when)


def held(gate: threading.Event, step: Step, *, when: Predicate | None = None) -> Held:
    """A step answering with `step` once `gate` is set (at most 120 s later)."""
    return Held(gate=gate, step=step, when=when or step.when)


# --- predicates on request bodies ---------------------------------------------------


def last_user_message(body: Body) -> Body | None:
    """The request's last message with role "user" (the CLI may append other roles)."""
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            return dict(message)
    return None


def tool_results(body: Body) -> list[Body]:
    """The tool_result blocks of the request's last user message."""
    message = last_user_message(body)
    content = message.get("content") if message else None
    if not isinstance(content, list):
        return []
    return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]


def has_tool_result(body: Body) -> bool:
    """True when the last user message carries a tool_result."""
    return bool(tool_results(body))


def result_text(block: Body) -> str:
    """The text of a tool_result block (its content may be a string or blocks)."""
    content = block.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
    return ""


def last_user_text(body: Body) -> str:
    """All text of the last user message (text blocks and tool results)."""
    message = last_user_message(body)
    content = message.get("content") if message else ""
    if isinstance(content, str):
        return content
    parts = []
    for block in content or []:
        if block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        elif block.get("type") == "tool_result":
            parts.append(result_text(block))
    return "\n".join(parts)


def conversation_text(body: Body) -> str:
    """Every message of the request flattened to text (to look for earlier turns)."""
    return json.dumps(body.get("messages") or [])


def is_side_request(body: Body) -> bool:
    """True for the CLI's side requests (titles, summaries, quota checks): no tools."""
    return not body.get("tools")


# --- wire format ---------------------------------------------------------------------


def sse(event: str, data: Body) -> bytes:
    """One Server-Sent Event in Anthropic's format."""
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def error_body(type_: str, message: str) -> Body:
    """Anthropic's error JSON shape."""
    return {"type": "error", "error": {"type": type_, "message": message}}


def _blocks(step: Say | ToolUse) -> list[Body]:
    if isinstance(step, Say):
        return [{"type": "text", "text": step.text}]
    blocks: list[Body] = [{"type": "text", "text": step.text}] if step.text else []
    for name, args in step.calls:
        blocks.append(
            {
                "type": "tool_use",
                "id": f"toolu_{uuid.uuid4().hex[:20]}",
                "name": name,
                "input": args,
            }
        )
    return blocks


def _message(model: str, content: list[Body], stop_reason: str | None) -> Body:
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": INPUT_TOKENS,
            "output_tokens": OUTPUT_TOKENS,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


def _block_events(index: int, block: Body) -> Iterator[bytes]:
    if block["type"] == "text":
        yield sse(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "text", "text": ""},
            },
        )
        text = block["text"]
        for chunk in (text[: len(text) // 2], text[len(text) // 2 :]):
            delta = {"type": "text_delta", "text": chunk}
            yield sse(
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": delta},
            )
    else:
        start = {**block, "input": {}}
        yield sse(
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": start},
        )
        raw = json.dumps(block["input"])
        for chunk in (raw[: len(raw) // 2], raw[len(raw) // 2 :]):
            delta = {"type": "input_json_delta", "partial_json": chunk}
            yield sse(
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": delta},
            )
    yield sse("content_block_stop", {"type": "content_block_stop", "index": index})


def stream_events(model: str, blocks: list[Body], stop_reason: str) -> Iterator[bytes]:
    """The full event sequence of one streamed message, in Anthropic's documented order."""
    start = _message(model, [], None)
    start["usage"] = {**start["usage"], "output_tokens": 1}
    yield sse("message_start", {"type": "message_start", "message": start})
    for index, block in enumerate(blocks):
        yield from _block_events(index, block)
    yield sse(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS},
        },
    )
    yield sse("message_stop", {"type": "message_stop"})


# --- the server ----------------------------------------------------------------------


class AnthropicFake:
    """The stand-in's state: the script, the recorded requests and the server address."""

    def __init__(self) -> None:
        self.url = ""
        self.requests: list[Body] = []
        self.api_keys: list[str] = []  # the `x-api-key` of each request, in order
        self.authorizations: list[str] = []  # the `Authorization` header (OAuth tokens)
        self.side_requests: list[Body] = []
        self.unknown: list[str] = []
        self.unscripted: list[Body] = []
        self._steps: list[Step] = []
        self._lock = threading.Lock()

    def script(self, steps: list[Step]) -> None:
        """Replace the pending steps with `steps`."""
        with self._lock:
            self._steps = list(steps)

    @property
    def pending(self) -> list[Step]:
        """Steps not used yet."""
        with self._lock:
            return list(self._steps)

    @property
    def main_requests(self) -> list[Body]:
        """Recorded requests that offered tools (the agent's own model calls)."""
        return [r for r in self.requests if not is_side_request(r)]

    def _take(self, body: Body) -> Step | None:
        with self._lock:
            for index, step in enumerate(self._steps):
                if step.accepts(body):
                    if isinstance(step, Error) and step.times > 1:
                        step.times -= 1
                    else:
                        del self._steps[index]
                    return step
        return None

    async def messages(self, request: Request) -> Response:
        """POST /v1/messages: answer from the script (or generically for side requests)."""
        body: Body = await request.json()
        self.requests.append(body)
        self.api_keys.append(request.headers.get("x-api-key", ""))
        self.authorizations.append(request.headers.get("authorization", ""))
        if is_side_request(body):
            self.side_requests.append(body)
            return self._answer(body, Say(text="OK"))
        step = self._take(body)
        if step is None:
            self.unscripted.append(body)
            step = Say(text="(the script has no step for this request)")
        while isinstance(step, Slow | Held):
            if isinstance(step, Slow):
                await asyncio.sleep(step.seconds)
            else:
                # The gate is a threading.Event set by the test's thread; polling it never
                # parks a worker thread that would hold up the server's shutdown.
                deadline = time.monotonic() + 120
                while not step.gate.is_set() and time.monotonic() < deadline:  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
            step = step.step
        return self._answer(body, step)

    def _answer(self, body: Body, step: Step) -> Response:
        model = str(body.get("model", "claude-sonnet-4-5"))
        if isinstance(step, Error):
            return JSONResponse(
                error_body(step.type, step.message),
                status_code=step.status,
                headers={"request-id": f"req_{uuid.uuid4().hex[:12]}"},
            )
        if isinstance(step, Cut):
            return StreamingResponse(_cut_stream(model, step.text), media_type="text/event-stream")
        assert isinstance(step, Say | ToolUse)
        blocks = _blocks(step)
        stop = "tool_use" if isinstance(step, ToolUse) else "end_turn"
        if not body.get("stream"):
            return JSONResponse(_message(model, blocks, stop))
        return StreamingResponse(
            _iterate(stream_events(model, blocks, stop)),
            media_type="text/event-stream",
            headers={"request-id": f"req_{uuid.uuid4().hex[:12]}"},
        )

    async def count_tokens(self, request: Request) -> Response:
        """POST /v1/messages/count_tokens: a plausible token count."""
        body: Body = await request.json()
        return JSONResponse({"input_tokens": max(1, len(json.dumps(body)) // 4)})

    async def unknown_path(self, request: Request) -> Response:
        """Anything else: logged, and answered 404 in Anthropic's error shape."""
        self.unknown.append(f"{request.method} {request.url.path}")
        return JSONResponse(
            error_body("not_found_error", f"Not found: {request.url.path}"), status_code=404
        )

    def app(self) -> Starlette:
        """The ASGI app of the stand-in."""
        methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]
        return Starlette(
            routes=[
                Route("/v1/messages", self.messages, methods=["POST"]),
                Route("/v1/messages/count_tokens", self.count_tokens, methods=["POST"]),
                Route("/{path:path}", self.unknown_path, methods=methods),
            ]
        )


async def _iterate(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def _cut_stream(model: str, text: str) -> AsyncIterator[bytes]:
    events = list(stream_events(model, [{"type": "text", "text": text}], "end_turn"))
    for chunk in events[:3]:
        yield chunk
    raise ConnectionResetError("scripted cut")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _ThreadedServer:
    """A uvicorn server running `app` in a thread of its own (usable from any test)."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> _ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the Anthropic stand-in did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_fake() -> tuple[AnthropicFake, _ThreadedServer]:
    """Start a stand-in on a free port; stop it with the returned server's `__exit__`."""
    fake = AnthropicFake()
    server = _ThreadedServer(fake.app()).__enter__()
    fake.url = f"http://127.0.0.1:{server.port}"
    return fake, server


@pytest.fixture
def anthropic_fake() -> Iterator[AnthropicFake]:
    """A running Anthropic stand-in: `.url`, `.script(steps)`, `.requests`."""
    fake, server = start_fake()
    try:
        yield fake
    finally:
        server.__exit__()

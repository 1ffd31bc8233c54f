"""The phone tools Claude can call: an in-process MCP server named "phone".

Built in: `send_message(text)`, `send_image(path, caption)`, `ask_user(question,
options)`. More tools (e.g. `screenshot`, `show_diff` from `host.visuals`) are
added as *factories*: a function taking the turn's `PhoneContext` and returning an
`SdkMcpTool`, passed to `create_host_app(settings, phone_tools=[...])`.

    def screenshot_tool(ctx: PhoneContext) -> SdkMcpTool[Any]:
        @tool("screenshot", "Screenshot a page of the app", {"url": str})
        async def run(args: dict[str, Any]) -> dict[str, Any]:
            png = await take(args["url"])            # a file inside ctx.files_dir or the workspace
            ctx.publish_image(png, caption=args["url"])
            return text_result("Sent the screenshot to the user's phone.")
        return run

Claude sees them as `mcp__phone__<name>`; the permission policy lets every phone
tool run without asking.
"""

from __future__ import annotations

import mimetypes
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claude_agent_sdk import McpSdkServerConfig, SdkMcpTool, create_sdk_mcp_server, tool

from cockpit.host.db import HostDB
from cockpit.host.events import EventLog
from cockpit.host.policy import inside
from cockpit.host.waits import Waits

SERVER_NAME = "phone"


@dataclass
class PhoneContext:
    """What a phone tool may use during one turn."""

    turn_id: str
    session: str
    workspace: Path  # the host's main workspace
    cwd: Path  # the session's own folder: the workspace for "main", else its worktree
    files_dir: Path
    events: EventLog
    waits: Waits
    db: HostDB

    def publish_image(self, path: Path, caption: str = "", content_type: str | None = None) -> str:
        """Copy an image to the host's files, emit an `image` event; returns its image_id."""
        kind = content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        image_id = f"img_{uuid.uuid4().hex[:16]}"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        stored = self.files_dir / f"{image_id}{path.suffix.lower()}"
        shutil.copyfile(path, stored)
        self.db.insert_file(image_id, stored, kind, path.name)
        self.events.emit(
            "image",
            self.turn_id,
            self.session,
            image_id=image_id,
            caption=caption,
            content_type=kind,
            filename=path.name,
        )
        return image_id

    def resolve(self, raw: str) -> Path:
        """`raw` as an absolute path (relative paths are taken from the session's cwd)."""
        path = Path(raw)
        return (path if path.is_absolute() else self.cwd / path).resolve()


PhoneToolFactory = Callable[[PhoneContext], SdkMcpTool[Any]]


def text_result(text: str) -> dict[str, Any]:
    """A successful tool result carrying `text`."""
    return {"content": [{"type": "text", "text": text}]}


def error_result(text: str) -> dict[str, Any]:
    """A failed tool result: Claude reads `text` as the error."""
    return {"content": [{"type": "text", "text": text}], "is_error": True}


def send_message_tool(ctx: PhoneContext) -> SdkMcpTool[Any]:
    """`send_message(text)`: a message to the user's phone, right now."""

    @tool("send_message", "Send a short text message to the user's phone now.", {"text": str})
    async def run(args: dict[str, Any]) -> dict[str, Any]:
        ctx.events.emit("message", ctx.turn_id, ctx.session, text=str(args["text"]))
        return text_result("Sent.")

    return run


def send_image_tool(ctx: PhoneContext) -> SdkMcpTool[Any]:
    """`send_image(path, caption)`: an image file of the session's folder to the phone."""

    @tool(
        "send_image",
        "Send an image file from the workspace to the user's phone.",
        {"path": str, "caption": str},
    )
    async def run(args: dict[str, Any]) -> dict[str, Any]:
        path = ctx.resolve(str(args["path"]))
        if not inside(path, ctx.cwd):  # the session's own folder (its worktree, or main's)
            return error_result(
                f"{args['path']} is outside the workspace; only files in {ctx.cwd} can be sent."
            )
        if not path.is_file():
            return error_result(f"No file at {args['path']}.")
        ctx.publish_image(path, str(args.get("caption", "")))
        return text_result("Sent the image to the user's phone.")

    return run


def ask_user_tool(ctx: PhoneContext) -> SdkMcpTool[Any]:
    """`ask_user(question, options)`: ask the user and wait for the answer."""
    schema = {
        "type": "object",
        "properties": {
            "question": {"type": "string"},
            "options": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["question"],
    }

    @tool("ask_user", "Ask the user a question on their phone and wait for the answer.", schema)
    async def run(args: dict[str, Any]) -> dict[str, Any]:
        options = [str(o) for o in args.get("options") or []]
        answer = await ctx.waits.question(ctx.turn_id, ctx.session, str(args["question"]), options)
        if answer.by != "user":
            return error_result(f"{answer.reason or 'No answer'}; decide on your own.")
        return text_result(f"The user answered: {answer.value}")

    return run


BUILTIN_TOOLS: tuple[PhoneToolFactory, ...] = (send_message_tool, send_image_tool, ask_user_tool)


def phone_server(ctx: PhoneContext, extra: Sequence[PhoneToolFactory] = ()) -> McpSdkServerConfig:
    """The "phone" MCP server for one turn: built-in tools plus `extra` ones."""
    tools = [factory(ctx) for factory in (*BUILTIN_TOOLS, *extra)]
    return create_sdk_mcp_server(name=SERVER_NAME, tools=tools)

"""Claude's visual phone tools: `screenshot` and `show_diff` (as mcp__phone__<name>).

`screenshot(target, viewports, actions, full_page, color_scheme)` photographs the
user's app with the host's Chromium and sends the picture to the phone: `target`
is a path on the dev server (started if needed) or a loopback URL; "both"
viewports give one side-by-side picture. `show_diff(files)` sends the diff
pictures of the working tree (every changed file, or the ones named, matched
loosely). Failures come back to Claude as tool errors in plain sentences (with
the dev server's log tail when it would not start).
"""

from __future__ import annotations

import asyncio
from typing import Any

from claude_agent_sdk import SdkMcpTool, tool

from cockpit.host.phone_tools import PhoneContext, PhoneToolFactory, error_result, text_result
from cockpit.host.visuals import Action, VisualsError, render_changes
from cockpit.host.visuals.changes import named_bundle
from cockpit.host.visuals.jobs import DIFF, SCREENSHOT, AutoVisuals
from cockpit.host.visuals.service import HostVisuals, Outlet

SCREENSHOT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "target": {
            "type": "string",
            "description": "A path on the app's dev server (e.g. /settings; default /) or a "
            "full http://127.0.0.1:PORT/... or http://localhost:PORT/... URL.",
        },
        "viewports": {
            "type": "string",
            "enum": ["mobile", "desktop", "both"],
            "description": "mobile (390 px, 2x), desktop (1440 px), or both side by side "
            "in one picture (default).",
        },
        "actions": {
            "type": "array",
            "items": {"type": "object"},
            "description": 'Steps before the picture, in order: {"navigate": "/path"}, '
            '{"click": "Dark mode"} (CSS selector, button/link name or text), '
            '{"type": {"selector": "#email", "text": "ada@example.com"}}, '
            '{"wait": 500} (ms) or {"wait": "#selector"}.',
        },
        "full_page": {"type": "boolean", "description": "The whole page, not just one screen."},
        "color_scheme": {
            "type": "string",
            "enum": ["light", "dark"],
            "description": "What prefers-color-scheme reports to the page.",
        },
    },
}
SHOW_DIFF_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "files": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Changed files to show (loose names are fine: 'settings' finds "
            "src/settings.py); empty or missing: every changed file.",
        }
    },
}


def visual_tools(visuals: HostVisuals, auto: AutoVisuals) -> tuple[PhoneToolFactory, ...]:
    """The tool factories to pass as `phone_tools`: screenshot and show_diff."""

    def screenshot(ctx: PhoneContext) -> SdkMcpTool[Any]:
        return screenshot_tool(ctx, visuals, auto)

    def show_diff(ctx: PhoneContext) -> SdkMcpTool[Any]:
        return show_diff_tool(ctx, visuals, auto)

    return (screenshot, show_diff)


def screenshot_tool(ctx: PhoneContext, visuals: HostVisuals, auto: AutoVisuals) -> SdkMcpTool[Any]:
    """`screenshot(...)`: a picture of the running app, sent to the user's phone."""

    @tool(
        "screenshot",
        "Take a screenshot of the user's running app with a real browser and send it to "
        "their phone. Starts the project's dev server if needed.",
        SCREENSHOT_SCHEMA,
    )
    async def run(args: dict[str, Any]) -> dict[str, Any]:
        try:
            actions = [Action.from_dict(dict(a)) for a in args.get("actions") or []]
            picture = await visuals.shoot(
                _text(args.get("target")),
                viewports=_text(args.get("viewports")) or "both",
                actions=actions,
                full_page=bool(args.get("full_page", False)),
                color_scheme=_text(args.get("color_scheme")),
            )
        except (VisualsError, TypeError, ValueError) as exc:
            return error_result(str(exc))
        async with visuals.send_lock:
            Outlet(ctx).show(picture)
        auto.note(ctx.turn_id, SCREENSHOT)
        return text_result(f"Sent the screenshot ({picture.caption}) to the user's phone.")

    return run


def show_diff_tool(ctx: PhoneContext, visuals: HostVisuals, auto: AutoVisuals) -> SdkMcpTool[Any]:
    """`show_diff(files)`: diff pictures of the working tree, sent to the user's phone."""

    @tool(
        "show_diff",
        "Send the user's phone pictures of the uncommitted changes (syntax-highlighted "
        "diffs, one per file; an overview when more than 5 files changed).",
        SHOW_DIFF_SCHEMA,
    )
    async def run(args: dict[str, Any]) -> dict[str, Any]:
        files = [str(f) for f in args.get("files") or [] if str(f).strip()]
        repo = ctx.cwd  # the session's own folder: its worktree, or the workspace
        try:
            if files:
                bundle = await asyncio.to_thread(named_bundle, repo, files)
            else:
                bundle = await asyncio.to_thread(render_changes, repo)
        except VisualsError as exc:
            return error_result(str(exc))
        if not bundle.images:
            return text_result(f"Nothing sent: {bundle.text}")
        async with visuals.send_lock:
            Outlet(ctx).show_all(bundle.images)
        auto.note(ctx.turn_id, DIFF)
        return text_result(f"Sent {len(bundle.images)} picture(s) to the phone. {bundle.text}")

    return run


def _text(value: object) -> str | None:
    return str(value).strip() or None if value is not None else None

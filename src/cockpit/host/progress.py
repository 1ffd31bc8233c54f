"""One short line per tool call, saying what Claude is doing ("✏️ editing src/app.ts")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

AGENT_TOOLS = frozenset({"Task", "Agent"})
_MAX = 80


def _short(text: str, limit: int = _MAX) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _path(value: Any, cwd: Path | None) -> str:
    path = str(value or "")
    if cwd is not None and path.startswith(str(cwd) + "/"):
        path = path[len(str(cwd)) + 1 :]
    return _short(path)


def _mcp(name: str) -> str:
    parts = name.split("__")
    server, tool = (parts[1], parts[2]) if len(parts) >= 3 else ("", name)
    if server == "phone":
        return {
            "send_message": "💬 writing to you",
            "send_image": "🖼️ sending an image",
            "ask_user": "❓ asking you a question",
            "screenshot": "📸 taking a screenshot",
            "show_diff": "🖼️ drawing the diff",
        }.get(tool, f"📱 {tool}")
    return f"🔌 {server}: {tool}"


def describe(name: str, args: dict[str, Any], cwd: Path | None = None) -> str:
    """A one-line, emoji-led description of the tool call `name(args)`."""
    path = _path(args.get("file_path") or args.get("notebook_path") or args.get("path"), cwd)
    simple = {
        "Write": f"✏️ writing {path}",
        "Edit": f"✏️ editing {path}",
        "MultiEdit": f"✏️ editing {path}",
        "NotebookEdit": f"✏️ editing {path}",
        "Read": f"📖 reading {path}",
        "LS": f"📂 listing {path or '.'}",
        "TodoWrite": "📝 updating the plan",
        "ToolSearch": "🧰 looking up tools",
        "Skill": f"🧩 using skill {_short(args.get('skill', args.get('name', '')))}",
    }
    if name in simple:
        return simple[name]
    if name == "Bash":
        return f"🧪 running `{_short(args.get('command', ''), 60)}`"
    if name in ("Grep", "Glob"):
        return f"🔎 searching {_short(args.get('pattern', ''), 60)}"
    if name in ("WebFetch", "WebSearch"):
        return f"🌐 looking up {_short(args.get('url') or args.get('query') or '', 60)}"
    if name in AGENT_TOOLS:
        return f"🤖 agent started: {_short(args.get('description', 'a sub-task'))}"
    if name.startswith("mcp__"):
        return _mcp(name)
    return f"🔧 {name}"


def detail(name: str, args: dict[str, Any]) -> str:
    """The main argument of a tool call (command, path, pattern…), for the event's detail."""
    for key in (
        "command",
        "file_path",
        "notebook_path",
        "pattern",
        "url",
        "query",
        "description",
        "path",
    ):
        if args.get(key):
            return _short(str(args[key]), 200)
    return ""

"""Which tool calls run on their own and which ask the phone first.

Read-only tools and the phone's own tools always run; file edits inside the
workspace run when `COCKPIT_AUTO_ALLOW_EDITS` is on; everything else (Bash, web
access, edits outside the workspace, unknown tools) asks the user.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cockpit.host.progress import AGENT_TOOLS

EDIT_TOOLS = frozenset({"Write", "Edit", "MultiEdit", "NotebookEdit"})
READ_ONLY_TOOLS = frozenset(
    {"Read", "Glob", "Grep", "LS", "TodoWrite", "ToolSearch", "NotebookRead"} | AGENT_TOOLS
)
PHONE_PREFIX = "mcp__phone__"


def edit_path(args: dict[str, Any], cwd: Path) -> Path | None:
    """The file an edit tool call writes, made absolute against `cwd`."""
    raw = args.get("file_path") or args.get("notebook_path")
    if not raw:
        return None
    path = Path(str(raw))
    return (path if path.is_absolute() else cwd / path).resolve()


def inside(path: Path, root: Path) -> bool:
    """True if `path` (symlinks resolved) lies under `root`."""
    return path.resolve().is_relative_to(root.resolve())


def needs_approval(
    name: str, args: dict[str, Any], *, workspace: Path, cwd: Path, auto_allow_edits: bool
) -> bool:
    """True if the tool call `name(args)` must be approved from the phone."""
    if name in READ_ONLY_TOOLS or name.startswith(PHONE_PREFIX):
        return False
    if name in EDIT_TOOLS:
        path = edit_path(args, cwd)
        return not (auto_allow_edits and path is not None and inside(path, workspace))
    return True


def summary(name: str, args: dict[str, Any], *, workspace: Path, cwd: Path) -> str:
    """One line asking the user, e.g. "Run `npm test`?"."""
    if name == "Bash":
        return f"Run `{_one_line(args.get('command', ''))}`?"
    if name in EDIT_TOOLS:
        path = edit_path(args, cwd)
        if path is None:
            return f"{name} a file?"
        verb = "Write" if name == "Write" else "Edit"
        where = "" if inside(path, workspace) else " (outside the workspace)"
        shown = path.relative_to(workspace.resolve()) if not where else path
        return f"{verb} {shown}{where}?"
    if name == "WebFetch":
        return f"Fetch {_one_line(args.get('url', ''))}?"
    if name == "WebSearch":
        return f"Search the web for {_one_line(args.get('query', ''))!r}?"
    return f"Use {name}?"


def _one_line(text: object, limit: int = 120) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"

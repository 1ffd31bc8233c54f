"""The relay's commands: one registry, so `/help` lists every command there is.

A message is a command when it is `/name [args]`, or — for the few words people
type or dictate bare — just that word ("Status.", "stop!"). `//name` is the
literal text for Claude. A near miss of a command (`/stauts`) earns a
suggestion; an unknown `/word` (the user's own skills, like `/ship`) goes to Claude.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """One relay command: its name, other spellings, argument hint and one-line help."""

    name: str
    help: str
    args: str = ""
    aliases: tuple[str, ...] = ()
    bare: bool = False  # understood without the slash when the message is only the word


@dataclass(frozen=True)
class Invocation:
    """A parsed command: which one, and the rest of the message."""

    command: Command
    args: str


@dataclass(frozen=True)
class Suggestion:
    """A near miss of a command, answered with "Did you mean …?"."""

    typed: str
    command: Command


REGISTRY: list[Command] = [
    Command("help", "this list", aliases=("commands",)),
    Command("status", "what each session is doing, queue, branch, last commit", bare=True),
    Command("stop", "interrupt the running task", bare=True),
    Command("cancel", "drop queued messages", bare=True),
    Command("retry", "run your last failed message again", aliases=("resume",), bare=True),
    Command("new", "start a fresh Claude session", args="[name]"),
    Command("sessions", "list sessions, numbered"),
    Command("switch", "make another session the current one", args="<number or name>"),
    Command("history", "the last n tasks: asked, outcome, cost", args="[n]"),
    Command("cost", "spend today, this week and per session"),
    Command("full", "the full text of the last long answer"),
    Command("diff", "diff images of the changes", args="[file]"),
    Command("screenshot", "a screenshot of your app", args="[path or URL]"),
    Command("visuals", "automatic diffs and screenshots after a task", args="on|off"),
    Command("fix", "let Claude fix the last failed build or deployment", bare=True),
    Command(
        "pr",
        "commit and push this session's branch, open a pull request",
        args="[title]",
        bare=True,
    ),
]
_BY_NAME = {name: c for c in REGISTRY for name in (c.name, *c.aliases)}


def _fold(word: str) -> str:
    return word.strip().lower().strip(".!?,;:'\"")


def parse(text: str) -> Invocation | Suggestion | None:
    """The command `text` invokes, a suggestion for a near miss, or None (for Claude)."""
    stripped = text.strip()
    if stripped.startswith("//"):
        return None
    match = re.fullmatch(r"/([A-Za-z][\w-]*)[.!?]*(?:\s+(.*))?", stripped, flags=re.DOTALL)
    if match:
        name, args = _fold(match.group(1)), (match.group(2) or "").strip()
        if name in _BY_NAME:
            return Invocation(_BY_NAME[name], args)
        close = difflib.get_close_matches(name, list(_BY_NAME), n=1, cutoff=0.75)
        return Suggestion(match.group(1), _BY_NAME[close[0]]) if close else None
    command = _BY_NAME.get(_fold(stripped))
    if command is not None and command.bare:
        return Invocation(command, "")
    resume = re.fullmatch(r"resume\s+([a-z0-9][a-z0-9-]{0,31})", _fold(stripped))
    if resume:  # "Resume auth-fix." continues in that session
        return Invocation(_BY_NAME["resume"], resume.group(1))
    return None


def by_name(name: str) -> Command:
    """The registered command called `name` (KeyError for none)."""
    return _BY_NAME[name]


def literal(text: str) -> str:
    """The text for Claude: `//status` becomes `/status`."""
    stripped = text.strip()
    return stripped[1:] if stripped.startswith("//") else text


def help_text() -> str:
    """One message listing every command with one line each."""
    lines = ["*Commands* (anything else goes to Claude):"]
    for c in REGISTRY:
        usage = f"/{c.name}" + (f" {c.args}" if c.args else "")
        lines.append(f"{usage} — {c.help}")
    lines.append("Reply *1*/*2*/*3* to an approval; quote a message to answer its session.")
    lines.append("Start with // to send a slash command to Claude (//status).")
    return "\n".join(lines)

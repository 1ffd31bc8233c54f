"""What the runner is built from: the host's settings, storage and folders, and the
hooks other features plug into a turn (observers, a preparer, extra phone tools)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cockpit.config import Settings
from cockpit.host.db import HostDB, Turn
from cockpit.host.events import EventLog
from cockpit.host.failures import Failure
from cockpit.host.phone_tools import PhoneToolFactory
from cockpit.host.waits import Waits
from cockpit.host.worktrees import Worktrees


class TurnObserver(Protocol):
    """Told about each turn: before Claude's first tool call runs (the prompt is already
    on its way to the model), and after a successful turn's last message, before its
    `result` event (what it emits then precedes the result)."""

    async def before_turn(self, turn: Turn) -> None: ...

    async def after_turn(self, turn: Turn) -> None: ...


class TurnPreparer(Protocol):
    """Turns a stored turn into the one Claude gets (e.g. a voice note into its
    transcript), or into the failure the phone gets instead; called when the turn's
    session gets to it, before Claude starts."""

    async def prepare(self, turn: Turn, cwd: Path) -> Turn | Failure: ...


@dataclass
class HostParts:
    """Everything a turn needs from the host: settings, storage, folders, extra tools."""

    settings: Settings
    db: HostDB
    events: EventLog
    waits: Waits
    workspace: Path
    files_dir: Path
    home: Path
    phone_tools: Sequence[PhoneToolFactory] = ()
    claude_env: dict[str, str] = field(default_factory=dict)
    observers: Sequence[TurnObserver] = ()
    folders: Worktrees = field(kw_only=True)  # "main": the workspace; others: worktrees
    preparer: TurnPreparer | None = field(default=None, kw_only=True)

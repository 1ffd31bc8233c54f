"""Where each session works: "main" in the workspace, every other in a git worktree.

Several sessions may run at the same time. So that they cannot trample each
other's files, a session other than "main" (e.g. "auth-fix") works in its own git
worktree, `<COCKPIT_DATA_DIR>/worktrees/<name>`, on its own branch
`cockpit/<name>`, made from the workspace's HEAD on the session's first turn. An
existing branch or folder of that name is reused, so a session keeps its work
across host restarts. Everything here runs git synchronously: call it through
`asyncio.to_thread` from async code.
"""

from __future__ import annotations

import re
import subprocess
import threading
from pathlib import Path

from cockpit.host import workspace as ws
from cockpit.log import get_logger

log = get_logger(__name__)

MAIN = "main"
BRANCH_PREFIX = "cockpit/"
SESSION_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")


class BadSessionName(ValueError):
    """A session name that is not 1-32 lowercase letters, digits or dashes."""


class WorktreeError(RuntimeError):
    """git could not make or reuse a session's worktree."""


def check_name(name: str) -> str:
    """`name` if it is a valid session name (`auth-fix`); raises BadSessionName otherwise."""
    if not SESSION_NAME.match(name):
        raise BadSessionName(name)
    return name


def branch_of(session: str) -> str:
    """The branch a worktree session works on: `cockpit/<session>`."""
    return BRANCH_PREFIX + check_name(session)


class Worktrees:
    """The folders of a host's sessions: the workspace, and worktrees under `root`."""

    def __init__(self, workspace: Path, root: Path):
        self.workspace = workspace
        self.root = root
        # `git worktree add` of two sessions at once would race on the repository's
        # shared files (worktree list, refs); one at a time is cheap enough.
        self._lock = threading.Lock()

    def folder(self, session: str) -> Path:
        """The folder `session` works in (it may not exist yet)."""
        if session == MAIN:
            return self.workspace
        return self.root / check_name(session)

    def ensure(self, session: str, start: str = "HEAD") -> Path:
        """The session's folder, made first if needed (a worktree on a new `cockpit/<name>`
        from `start`, a revision: see `push.start_point`)."""
        path = self.folder(session)
        if session == MAIN or _is_checkout(path):
            return path
        with self._lock:
            if not _is_checkout(path):
                self._add(session, path, start)
        return path

    def exists(self, session: str) -> bool:
        """Whether the session's folder is a checkout already."""
        return session == MAIN or _is_checkout(self.folder(session))

    def _add(self, session: str, path: Path, start: str = "HEAD") -> None:
        ws.ensure_repo(self.workspace)
        self.root.mkdir(parents=True, exist_ok=True)
        _git(self.workspace, "worktree", "prune")  # forget worktrees whose folder is gone
        branch = branch_of(session)
        if _has_branch(self.workspace, branch):
            _git(self.workspace, "worktree", "add", "-q", str(path), branch)
        else:
            _git(self.workspace, "worktree", "add", "-q", "-b", branch, str(path), start)
        log.info("host.worktree_added", session=session, branch=branch, path=str(path))

    def sessions(self) -> list[str]:
        """Sessions whose worktree folder exists (not "main")."""
        if not self.root.is_dir():
            return []
        found = (p.name for p in self.root.iterdir() if p.is_dir())
        return sorted(name for name in found if SESSION_NAME.match(name) and name != MAIN)

    def branch(self, session: str) -> str | None:
        """The branch checked out in the session's folder now (None if it has none yet)."""
        try:
            path = self.folder(session)
            return _git(path, "rev-parse", "--abbrev-ref", "HEAD") if path.is_dir() else None
        except (BadSessionName, WorktreeError):
            return None

    def branches(self, sessions: list[str]) -> dict[str, str | None]:
        """The branch of each of `sessions` (for GET /health)."""
        return {name: self.branch(name) for name in sessions}


def _is_checkout(path: Path) -> bool:
    """True if `path` is a git checkout of its own (a worktree has a `.git` file)."""
    return (path / ".git").exists()


def _has_branch(repo: Path, branch: str) -> bool:
    done = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "-q", "--verify", f"refs/heads/{branch}"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return done.returncode == 0


def _git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise WorktreeError(f"git {args[0]} could not run: {exc}") from None
    if done.returncode != 0:
        raise WorktreeError(f"git {' '.join(args[:2])} failed: {done.stderr.strip()[:200]}")
    return done.stdout.strip()

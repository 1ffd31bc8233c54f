"""The host's git work with the user's GitHub token: `/pr` commits a session's pending
changes and pushes its branch; `fix` starts a session from the failing branch.

The session's work goes to `cockpit/<session>` on the workspace's `origin` remote
(the `main` session pushes its HEAD there too, so a pull request never comes from
the default branch itself). The GitHub token is handed to this one git process
through `GIT_CONFIG_*` environment variables as an HTTP Authorization header: it is
never written to git's config, the remote URL or a log, and git's messages are
scrubbed of it before they go anywhere. Synchronous: call through `asyncio.to_thread`.
"""

from __future__ import annotations

import base64
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from cockpit.host.worktrees import BRANCH_PREFIX, check_name

_FALLBACK_IDENTITY = ("-c", "user.name=cockpit", "-c", "user.email=cockpit@localhost")
PUSH_TIMEOUT = 120


class PushError(RuntimeError):
    """The push could not happen; `reason` is no_remote, rejected or failed."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Pushed:
    """What was pushed where."""

    branch: str
    commit: str
    committed: bool  # pending changes were committed first
    remote_url: str  # without any credentials


def push_session(folder: Path, session: str, message: str, token: str | None) -> Pushed:
    """Commit pending changes in `folder` (with `message`) and push to cockpit/<session>."""
    branch = BRANCH_PREFIX + check_name(session)
    remote = _run(folder, "remote", "get-url", "origin", check=False)
    if remote.returncode != 0 or not remote.stdout.strip():
        raise PushError("no_remote", "The workspace has no git remote called origin.")
    url = remote.stdout.strip()
    committed = _commit_pending(folder, message)
    commit = _run(folder, "rev-parse", "HEAD").stdout.strip()
    done = _run(
        folder, "push", "--porcelain", "origin", f"HEAD:refs/heads/{branch}",
        check=False, env=_auth_env(url, token),
    )  # fmt: skip
    if done.returncode != 0:
        said = _scrub(done.stderr.strip() or done.stdout.strip(), token)
        reason = "rejected" if "rejected" in said or "[remote rejected]" in said else "failed"
        raise PushError(reason, said[-600:])
    return Pushed(branch, commit, committed, _without_credentials(url))


def start_point(repo: Path, branch: str, token: str | None = None) -> str:
    """Where a worktree for `branch` starts: the local branch, else `origin/<branch>` (fetched
    now, with `token` when given), else HEAD (offline, no access, no such branch)."""
    local = f"refs/heads/{branch}"
    if _run(repo, "rev-parse", "-q", "--verify", local, check=False).returncode == 0:
        return local
    remote = f"refs/remotes/origin/{branch}"
    url = _run(repo, "remote", "get-url", "origin", check=False).stdout.strip()
    try:
        _run(repo, "fetch", "-q", "origin", f"+refs/heads/{branch}:{remote}", check=False,
             env=_auth_env(url, token))  # fmt: skip
    except PushError:
        return "HEAD"
    found = _run(repo, "rev-parse", "-q", "--verify", remote, check=False)
    return remote if found.returncode == 0 else "HEAD"


def pending_changes(folder: Path) -> int:
    """How many paths have uncommitted changes in `folder` (0 when git cannot tell)."""
    try:
        done = _run(folder, "status", "--porcelain", check=False)
    except PushError:
        return 0
    return len(done.stdout.splitlines()) if done.returncode == 0 else 0


def _commit_pending(folder: Path, message: str) -> bool:
    if not _run(folder, "status", "--porcelain").stdout.strip():
        return False
    _run(folder, "add", "-A")
    has_identity = _run(folder, "config", "user.email", check=False).stdout.strip()
    identity = () if has_identity else _FALLBACK_IDENTITY
    _run(folder, *identity, "commit", "-q", "-m", message)
    return True


def _auth_env(url: str, token: str | None) -> dict[str, str]:
    """Environment that gives git the token for this remote's host only (HTTP remotes)."""
    env = {"GIT_TERMINAL_PROMPT": "0"}
    parts = urlsplit(url)
    if token and parts.scheme in ("http", "https") and parts.hostname:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        origin = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        env |= {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"http.{origin}/.extraheader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        }
    return env


def _scrub(text: str, token: str | None) -> str:
    if not token:
        return text
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return text.replace(token, "***").replace(basic, "***")


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and "@" in parts.netloc:
        netloc = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return url


def _run(
    folder: Path, *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=PUSH_TIMEOUT,
            check=False,
            env={**os.environ, **(env or {})},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PushError("failed", f"git {args[0]} could not run: {exc}") from None
    if check and done.returncode != 0:
        raise PushError("failed", f"git {args[0]} failed: {done.stderr.strip()[:300]}")
    return done

"""The host's workspace: a git repository Claude works in, and the files in it.

Makes the repository on first start, answers "which branch, which last commit"
for /health, and keeps files sent from the phone under `.cockpit/inbox/`.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

INBOX = Path(".cockpit") / "inbox"
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,120}$")
_IDENTITY = ("-c", "user.name=cockpit", "-c", "user.email=cockpit@localhost")


class UnsafeName(ValueError):
    """A file name that could leave its folder (`../x`, `/etc/passwd`, hidden, empty)."""


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *_IDENTITY, "-C", str(repo), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {args[0]} failed: {done.stderr.strip()[:200]}")
    return done.stdout.strip()


def ensure_repo(
    path: Path,
    clone_url: str | None = None,
    token: str | None = None,
    *,
    keep_old: Path | None = None,
) -> bool:
    """Make `path` a git repository with at least one commit; True when it was re-cloned.

    An empty `path` with a `clone_url` becomes a clone of it (the repository chosen at
    signup), authenticated with `token` when given; a clone that fails raises. A clone
    of another repository (the person changed it on the account page) is replaced by a
    clone of `clone_url`; with `keep_old`, the old one's every branch and its uncommitted
    work (stashed) are first saved there as a git bundle.
    """
    path.mkdir(parents=True, exist_ok=True)
    recloned = False
    if clone_url and (path / ".git").exists() and _origin(path) not in (None, clone_url):
        _set_aside(path, keep_old)
        clone(clone_url, path, token)
        recloned = True
    elif clone_url and not (path / ".git").exists() and not any(path.iterdir()):
        clone(clone_url, path, token)
    if not (path / ".git").exists():
        _git(path, "init", "-q", "-b", "main")
    if (
        subprocess.run(
            ["git", "-C", str(path), "rev-parse", "-q", "--verify", "HEAD"],
            capture_output=True,
            check=False,
        ).returncode
        != 0
    ):
        _git(path, "commit", "-q", "--allow-empty", "-m", "Start of the cockpit workspace")
    _exclude_inbox(path)
    return recloned


def _origin(path: Path) -> str | None:
    """The URL the workspace was cloned from, or None."""
    try:
        return _git(path, "config", "--get", "remote.origin.url") or None
    except RuntimeError:
        return None


def _set_aside(path: Path, keep_old: Path | None) -> None:
    """Save the old clone as a bundle in `keep_old` (if given), then empty `path` (a
    volume's mount point may not be removed, only emptied)."""
    if keep_old is not None:
        keep_old.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(RuntimeError):  # nothing to stash
            _git(path, "stash", "push", "-u", "-q", "-m", "cockpit: before the repository changed")
        stamp = time.strftime("%Y%m%dT%H%M%S")
        _git(path, "bundle", "create", "-q", str(keep_old / f"workspace-{stamp}.bundle"), "--all")
    for child in path.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def clone(url: str, path: Path, token: str | None) -> None:
    """Clone `url` into the empty folder `path`.

    The token goes in an HTTP header for this one command (GitHub accepts
    `x-access-token:<token>` as Basic credentials), so it is never written to
    `.git/config` and never appears in a URL or an error message.
    """
    auth: list[str] = []
    if token:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        auth = ["-c", f"http.extraHeader=Authorization: Basic {basic}"]
    done = subprocess.run(
        ["git", *auth, "clone", "-q", "--", url, str(path)],
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
    )  # fmt: skip
    if done.returncode != 0:
        reason = done.stderr.strip().replace(token, "***") if token else done.stderr.strip()
        raise RuntimeError(f"could not clone {url}: {reason[:300]}")


def _exclude_inbox(repo: Path) -> None:
    """Keep `.cockpit/` (files from the phone) out of git status and diffs."""
    exclude = repo / ".git" / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    lines = exclude.read_text().splitlines() if exclude.exists() else []
    if "/.cockpit/" not in lines:
        exclude.write_text("\n".join([*lines, "/.cockpit/"]) + "\n")


def git_info(path: Path) -> dict[str, object]:
    """The current branch and last commit (sha, subject) of the workspace."""
    try:
        branch = _git(path, "rev-parse", "--abbrev-ref", "HEAD")
        sha, _, subject = _git(path, "log", "-1", "--format=%h%x09%s").partition("\t")
    except (RuntimeError, OSError, subprocess.TimeoutExpired):
        return {"branch": None, "last_commit": None}
    return {"branch": branch, "last_commit": {"sha": sha, "subject": subject}}


def safe_name(name: str) -> str:
    """`name` if it is a plain file name; raises UnsafeName otherwise."""
    if not _SAFE.fullmatch(name) or ".." in name:
        raise UnsafeName(name)
    return name


def save_media(workspace: Path, turn_id: str, filename: str, data_b64: str) -> Path:
    """Store an attachment of a turn under `.cockpit/inbox/<turn_id>/`; returns its path."""
    folder = workspace / INBOX / safe_name(turn_id)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / safe_name(filename)
    target.write_bytes(base64.b64decode(data_b64, validate=True))
    return target

"""The host's git work for GitHub: a session on a given branch (`fix`), commit and push (`/pr`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from cockpit.config import load_settings
from cockpit.host import create_host_app
from tests.gitrepo import git

TOKEN = "host-token-for-tests"
GITHUB_TOKEN = "ghp_never_in_git_config_0001"


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The host app in-process on a fresh workspace (no Claude needed to push)."""
    settings = load_settings(
        host_token=TOKEN, data_dir=tmp_path / "data", workspace=tmp_path / "ws"
    )
    transport = httpx.ASGITransport(app=create_host_app(settings))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://host", headers=headers) as c:
        yield c


def _with_origin(tmp_path: Path) -> Path:
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(tmp_path / "ws", "remote", "add", "origin", bare.as_uri())
    return bare


async def test_pending_changes_are_committed_and_the_session_branch_pushed(
    host: httpx.AsyncClient, tmp_path: Path
) -> None:
    """A changed file is committed with the title and lands on cockpit/main of origin;
    the token is used for that push only, never written to git's config."""
    bare = _with_origin(tmp_path)
    (tmp_path / "ws" / "app.py").write_text("print('fixed')\n")
    answer = await host.post("/sessions/main/push",
                             json={"message": "Fix the app", "token": GITHUB_TOKEN})  # fmt: skip
    assert answer.status_code == 200
    pushed = answer.json()
    assert (pushed["branch"], pushed["committed"]) == ("cockpit/main", True)
    assert git(tmp_path, "--git-dir", str(bare), "log", "-1", "--format=%s", "cockpit/main") == (
        "Fix the app"
    )
    assert git(tmp_path, "--git-dir", str(bare), "show", "cockpit/main:app.py") == (
        "print('fixed')"
    )
    assert GITHUB_TOKEN not in (tmp_path / "ws" / ".git" / "config").read_text()


async def test_refusals_say_why(host: httpx.AsyncClient, tmp_path: Path) -> None:
    """No origin is 409 no_remote; a diverged remote branch is 409 rejected with git's words;
    a session without a worktree is 404."""
    no_remote = await host.post("/sessions/main/push", json={"message": "x"})
    bare = _with_origin(tmp_path)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", bare.as_uri(), str(other))
    git(other, "-c", "user.name=o", "-c", "user.email=o@o", "commit", "-q", "--allow-empty",
         "-m", "someone else's work")  # fmt: skip
    git(other, "push", "-q", "origin", "HEAD:refs/heads/cockpit/main")
    rejected = await host.post("/sessions/main/push", json={"message": "x"})
    missing = await host.post("/sessions/nope/push", json={"message": "x"})
    assert (no_remote.status_code, no_remote.json()["detail"]["reason"]) == (409, "no_remote")
    assert (rejected.status_code, rejected.json()["detail"]["reason"]) == (409, "rejected")
    assert "rejected" in rejected.json()["detail"]["message"]
    assert missing.status_code == 404


async def test_a_new_session_starts_from_the_branch_it_is_for(
    host: httpx.AsyncClient, tmp_path: Path
) -> None:
    """A session made for `feature-x` starts at origin's feature-x (fetched); an existing
    session is left alone; a branch nobody has means HEAD."""
    bare = _with_origin(tmp_path)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", bare.as_uri(), str(other))
    (other / "feature.txt").write_text("from the feature branch\n")
    git(other, "add", "feature.txt")
    git(other, "-c", "user.name=o", "-c", "user.email=o@o", "commit", "-q", "-m", "feature")
    git(other, "push", "-q", "origin", "HEAD:refs/heads/feature-x")
    made = await host.post("/sessions/fix-feature-x", json={"branch": "feature-x"})
    again = await host.post("/sessions/fix-feature-x", json={"branch": "feature-x"})
    unknown = await host.post("/sessions/fix-nope", json={"branch": "nope"})
    assert made.json() == {"session": "fix-feature-x", "created": True,
                           "start": "refs/remotes/origin/feature-x"}  # fmt: skip
    worktree = tmp_path / "data" / "worktrees" / "fix-feature-x"
    assert (worktree / "feature.txt").read_text() == "from the feature branch\n"
    assert git(worktree, "branch", "--show-current") == "cockpit/fix-feature-x"
    assert again.json()["created"] is False
    assert unknown.json()["start"] == "HEAD"
    bad = await host.post("/sessions/fix-x", json={"branch": "--upload-pack=evil"})
    assert bad.status_code == 422

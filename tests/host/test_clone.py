"""A host's workspace starts as a clone of the repository chosen at signup."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cockpit.host.workspace import ensure_repo
from tests.fakes.git_http import git_server

TOKEN = "github_pat_11CLONE" + "t0k3n" * 8


def test_an_empty_workspace_is_cloned_with_the_token_kept_out_of_git_config(
    tmp_path: Path,
) -> None:
    """The clone has the repository's files; the token was sent but is not in .git/config."""
    with git_server(tmp_path / "git", TOKEN) as server:
        server.add_repo("grace/compiler", {"README.md": "# compiler\n"})
        workspace = tmp_path / "ws"
        workspace.mkdir()
        ensure_repo(workspace, f"{server.url}/grace/compiler", TOKEN)
    assert (workspace / "README.md").read_text() == "# compiler\n"
    assert TOKEN not in (workspace / ".git" / "config").read_text()
    log = subprocess.run(["git", "-C", str(workspace), "log", "--format=%s"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    assert log.stdout.strip() == "init"


def test_a_refused_clone_says_why_without_the_token(tmp_path: Path) -> None:
    """A wrong token fails the start with git's reason, and the token is not in the message."""
    with git_server(tmp_path / "git", "the-right-one") as server:
        server.add_repo("grace/compiler", {"README.md": "x"})
        with pytest.raises(RuntimeError, match="could not clone") as failed:
            ensure_repo(tmp_path / "ws", f"{server.url}/grace/compiler", TOKEN)
    assert TOKEN not in str(failed.value)


def test_a_workspace_with_files_is_left_as_it_is(tmp_path: Path) -> None:
    """An existing checkout is never replaced by a clone (a restart keeps the work)."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "notes.txt").write_text("mine")
    ensure_repo(workspace, "http://127.0.0.1:9/nowhere", TOKEN)
    assert (workspace / "notes.txt").read_text() == "mine" and (workspace / ".git").is_dir()


def test_a_changed_repository_is_cloned_afresh_and_the_old_one_kept(tmp_path: Path) -> None:
    """A workspace cloned from one repository, started with another, becomes a clone of the
    new one; the old clone's branches and uncommitted work are saved in a bundle first."""
    with git_server(tmp_path / "git", TOKEN) as server:
        server.add_repo("grace/compiler", {"README.md": "# compiler\n"})
        server.add_repo("grace/linker", {"LINKER.md": "# linker\n"})
        workspace, kept = tmp_path / "ws", tmp_path / "previous"
        ensure_repo(workspace, f"{server.url}/grace/compiler", TOKEN)
        (workspace / "notes.txt").write_text("unsaved work\n")
        assert ensure_repo(workspace, f"{server.url}/grace/compiler", TOKEN) is False
        assert ensure_repo(workspace, f"{server.url}/grace/linker", TOKEN, keep_old=kept)
    assert (workspace / "LINKER.md").exists() and not (workspace / "README.md").exists()
    (bundle,) = kept.glob("*.bundle")
    restored = tmp_path / "restored"
    subprocess.run(["git", "clone", "-q", str(bundle), str(restored)], check=True)
    heads = subprocess.run(["git", "bundle", "list-heads", str(bundle)],
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "refs/stash" in heads and (restored / "README.md").exists()  # work and history

"""Real git repositories in temporary folders, for tests that need real changes: the
`Repo` helper, its `repo` fixture, and `git` / `git_as_tester` to run git in any folder
(none named `test_...`: pytest would collect it in every test module that imports it)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd` with no identity of its own (a commit passes one); its output,
    stripped."""
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def git_as_tester(repo: Path, *args: str) -> str:
    """Run git in `repo` as the tester (T <t@example.com>); its output, stripped."""
    cmd = ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", "-C", str(repo), *args]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()


class Repo:
    """A real git repository in a temporary folder, with helpers to change it."""

    def __init__(self, path: Path):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        """Run git in the repository and return its output."""
        cmd = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args]
        return subprocess.run(cmd, cwd=self.path, check=True, capture_output=True, text=True).stdout

    def write(self, name: str, content: str | bytes) -> Path:
        """Write a file (creating folders)."""
        path = self.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    def commit(self, message: str = "commit") -> str:
        """Stage everything and commit; returns the commit id."""
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """An empty git repository (a conftest imports this fixture where its tests need it)."""
    return Repo(tmp_path / "repo")

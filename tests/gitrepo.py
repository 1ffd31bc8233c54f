"""A real git repository in a temporary folder, for tests that need real changes."""

from __future__ import annotations

import subprocess
from pathlib import Path


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

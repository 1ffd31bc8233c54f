"""Real git repositories in tmp_path, whose changes the pictures are drawn from."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gitrepo import Repo


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """An empty git repository."""
    return Repo(tmp_path / "repo")

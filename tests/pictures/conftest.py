"""Real git repositories in tmp_path, whose changes the pictures are drawn from."""

from __future__ import annotations

from tests.gitrepo import repo as repo  # the fixture

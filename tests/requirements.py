"""Skip (or, on CI, fail) tests whose real outside parts are missing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def require(cond: bool, what: str) -> None:
    """Skip the test with `what` unless `cond`; on CI (CI=true) fail loudly instead."""
    if cond:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"required on CI: {what}")
    pytest.skip(what)


def require_chromium() -> None:
    """The system Chromium at /usr/bin/chromium."""
    require(Path("/usr/bin/chromium").exists(), "Chromium is not installed at /usr/bin/chromium")


def require_claude_cli() -> None:
    """The Claude Code binary bundled with claude-agent-sdk."""
    try:
        import claude_agent_sdk
    except ImportError:
        require(False, "claude-agent-sdk is not installed")
        return
    binary = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
    require(binary.exists(), f"the Claude Code CLI is missing at {binary}")


def postgres_bin() -> Path:
    """The folder of PostgreSQL's server programs (initdb, pg_ctl), to run a private cluster."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    require(bool(found), "PostgreSQL's server programs are not in /usr/lib/postgresql/*/bin")
    return found[-1].parent if found else Path()


def postgres_url() -> str:
    """The PostgreSQL server tests may use (COCKPIT_TEST_POSTGRES_URL); CI sets it."""
    url = os.environ.get("COCKPIT_TEST_POSTGRES_URL", "")
    require(bool(url), "COCKPIT_TEST_POSTGRES_URL is not set")
    return url

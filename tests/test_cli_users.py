"""`cockpit users add --claude` as an operator types it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cockpit.cli import app
from cockpit.store import secrets, users
from cockpit.store.db import Database
from cockpit.store.migrate import upgrade

PHONE = "+15551234567"
TOKEN = "sk-ant-oat01-" + "Su6s" * 20 + "-Tk9Q"


def cockpit(*args: str, typed: str | None = None) -> Result:
    """Run `cockpit ARGS` in-process (settings from the environment), `typed` on stdin."""
    return CliRunner().invoke(app, list(args), input=typed)


@pytest.fixture
def relay_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    """A data folder in tmp_path and a relay secret key; the database the CLI will use."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COCKPIT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COCKPIT_SECRET_KEY", "k" * 32)
    return Database(f"sqlite:///{tmp_path / 'data' / 'cockpit.db'}")


def test_users_add_stores_a_subscription_token_encrypted(relay_env: Database) -> None:
    """`users add --claude` reads the token hidden, stores it as the user's subscription
    token (shown only by its last four characters), and never prints it."""
    done = cockpit("users", "add", PHONE, "--name", "Ada", "--claude", typed=TOKEN + "\n")
    assert done.exit_code == 0, done.output
    assert "subscription token (…Tk9Q)" in done.output and TOKEN not in done.output
    ada = users.find_by_phone(relay_env, PHONE)
    assert ada is not None
    stored = secrets.get_secret(relay_env, ada.id, secrets.CLAUDE_OAUTH_TOKEN, key="k" * 32)
    assert stored == TOKEN
    relay_env.dispose()


def test_users_add_refuses_a_malformed_credential_and_adds_nobody(relay_env: Database) -> None:
    """A truncated token is refused in one sentence and no user is registered."""
    done = cockpit("users", "add", PHONE, "--name", "Ada", "--claude", typed="sk-ant-oat01-x\n")
    assert done.exit_code == 2 and "claude setup-token" in done.output
    upgrade(relay_env.url)
    assert users.list_users(relay_env) == []
    relay_env.dispose()

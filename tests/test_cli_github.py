"""`cockpit github link` and `cockpit github token` as an operator types them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cockpit.cli import app
from cockpit.store import github, users
from cockpit.store.db import Database
from tests.fakes.github import GitHubFake

PHONE = "+15551234567"
TOKEN = "ghp_operator_stored_token_0001"


def cockpit(*args: str, typed: str | None = None) -> Result:
    """Run `cockpit ARGS` in-process (settings from the environment), `typed` on stdin."""
    return CliRunner().invoke(app, list(args), input=typed)


def test_link_with_create_hook_makes_the_signed_webhook_on_github(
    tmp_path: Path, github_fake: GitHubFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a stored token, `link --create-hook` creates the JSON webhook to this relay with the
    repository's new secret; linking again updates that hook instead of adding one."""
    monkeypatch.setenv("COCKPIT_PUBLIC_URL", "https://relay.example.com")
    monkeypatch.setenv("COCKPIT_SECRET_KEY", "k" * 32)
    monkeypatch.setenv("GITHUB_API_BASE_URL", github_fake.url)
    github_fake.tokens.add(TOKEN)
    hooked = github_fake.add_repo("octo-org/octo-repo")
    link = ("github", "link", PHONE, "octo-org/octo-repo", "--create-hook")
    assert cockpit("users", "add", PHONE, "--name", "Ada").exit_code == 0
    no_token = cockpit(*link)
    stored = cockpit("github", "token", PHONE, typed=TOKEN + "\n")
    first, again = cockpit(*link), cockpit(*link)

    assert no_token.exit_code == 2 and "No GitHub token for +15551234567" in no_token.output
    assert stored.exit_code == 0 and TOKEN not in stored.output
    assert first.exit_code == 0 and "its webhook on GitHub is hook 100" in first.output
    assert again.exit_code == 0 and "hook 100" in again.output
    (hook,) = hooked.hooks
    db = Database(f"sqlite:///{tmp_path / '.cockpit' / 'cockpit.db'}")
    ada = users.find_by_phone(db, PHONE)
    assert ada is not None
    secret = github.webhook_secret(db, ada.id, "octo-org/octo-repo", key="k" * 32)
    url = "https://relay.example.com/github/webhook"
    assert hook["config"] == {"url": url, "content_type": "json", "secret": secret,
                              "insecure_ssl": "0"}  # fmt: skip
    assert hook["events"] == ["workflow_run", "check_suite", "pull_request", "deployment_status"]
    db.dispose()


@pytest.mark.parametrize(
    "command", [("github", "token", PHONE), ("github", "link", PHONE, "octo-org/octo-repo")]
)
def test_github_commands_refuse_without_a_secret_key(tmp_path: Path, command: tuple[str]) -> None:
    """Without COCKPIT_SECRET_KEY (and no key of `cockpit up`) they refuse in one sentence
    and make no key: a new one would store secrets the relay cannot open."""
    assert cockpit("users", "add", PHONE, "--name", "Ada").exit_code == 0
    result = cockpit(*command, typed=TOKEN + "\n")
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "COCKPIT_SECRET_KEY is not set" in result.output
    assert "Traceback" not in result.output and TOKEN not in result.output
    assert not (tmp_path / ".cockpit" / "secret_key").exists()


def test_github_token_uses_the_key_cockpit_up_made(tmp_path: Path) -> None:
    """Where `cockpit up` keeps its key, the token is stored under that key."""
    from cockpit.config import load_settings
    from cockpit.store import secrets

    settings = load_settings()
    settings.ensure_secret_key()  # what `cockpit up` does first
    assert cockpit("users", "add", PHONE, "--name", "Ada").exit_code == 0
    assert cockpit("github", "token", PHONE, typed=TOKEN + "\n").exit_code == 0
    db = Database(f"sqlite:///{tmp_path / '.cockpit' / 'cockpit.db'}")
    ada = users.find_by_phone(db, PHONE)
    assert ada is not None and settings.secret_key is not None
    assert secrets.get_secret(db, ada.id, github.GITHUB_TOKEN, key=settings.secret_key) == TOKEN
    db.dispose()


def test_another_key_is_refused_in_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key that does not open the user's stored secrets is named as the cause, no traceback."""
    monkeypatch.setenv("COCKPIT_PUBLIC_URL", "https://relay.example.com")
    monkeypatch.setenv("COCKPIT_SECRET_KEY", "k" * 32)
    assert cockpit("users", "add", PHONE, "--name", "Ada").exit_code == 0
    assert cockpit("github", "token", PHONE, typed=TOKEN + "\n").exit_code == 0
    monkeypatch.setenv("COCKPIT_SECRET_KEY", "other" * 8)
    for command in (("github", "token", PHONE), ("github", "link", PHONE, "o/r", "--create-hook")):
        result = cockpit(*command, typed=TOKEN + "\n")
        assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
        assert "use the relay's COCKPIT_SECRET_KEY" in result.output

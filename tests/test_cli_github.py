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

"""`/pr` and `fix` answer every refusal in plain words (a real host app on loopback does the
git work; GitHub is the stand-in; no Claude needed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cockpit.config import load_settings
from cockpit.core.github_events import FixContext, Job
from cockpit.host import create_host_app
from cockpit.provision.base import HostEndpoint
from cockpit.relay.commands import CommandContext
from cockpit.relay.github.commands import fix, pull_request
from cockpit.relay.hostclient import HostClient
from cockpit.server import build_relay
from cockpit.store import github, secrets, users
from cockpit.store.migrate import upgrade
from tests.fakes.github import GitHubFake
from tests.gitrepo import git
from tests.live import serve
from tests.relay.conftest import ADA, relay_settings

HOST_TOKEN = "host-token-for-tests"
TOKEN = "ghp_adas_token_commands_0001"


@dataclass
class Commands:
    ctx: CommandContext
    workspace: Path
    submitted: list[tuple[str, str, str]] = field(default_factory=list)


@pytest.fixture
async def commands(tmp_path: Path, github_fake: GitHubFake) -> AsyncIterator[Commands]:
    """Ada's relay context, talking to a real host app (her workspace) over loopback HTTP."""
    url = f"sqlite:///{tmp_path / 'cockpit.db'}"
    upgrade(url)
    settings = relay_settings(url, tmp_path / "data", "http://relay.test", "http://sim.test",
                              github_api_base_url=github_fake.url)  # fmt: skip
    relay = build_relay(settings)
    ada = users.add_user(relay.db, ADA, "Ada")
    workspace = tmp_path / "ws"
    host = load_settings(host_token=HOST_TOKEN, data_dir=tmp_path / "host", workspace=workspace)
    submitted: list[tuple[str, str, str]] = []

    async def submit(turn_id: str, session: str, text: str) -> None:
        submitted.append((turn_id, session, text))

    with serve(create_host_app(host)) as host_url:
        client = HostClient(HostEndpoint(host_url, HOST_TOKEN))
        ctx = CommandContext(relay, client, ada.id, ADA, "main", "SMcmd1", submit)
        yield Commands(ctx, workspace, submitted)
        await client.aclose()
    relay.db.dispose()


async def test_pr_refusals_are_plain_words(
    commands: Commands, github_fake: GitHubFake, tmp_path: Path
) -> None:
    """No token, no repository, nothing new to propose, a diverged branch and a refused token
    each get their own sentence; the repository chosen at signup counts as linked."""
    ctx, db = commands.ctx, commands.ctx.relay.db
    no_token = await pull_request(ctx, "")
    secrets.put_secret(db, ctx.user_id, "github_token", TOKEN, key="test-secret-key")
    no_repo = await pull_request(ctx, "")
    users.update_user(db, ctx.user_id, repo_url="https://github.com/octo-org/octo-repo")
    bare = tmp_path / "octo-repo.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(commands.workspace, "remote", "add", "origin", bare.as_uri())
    git(commands.workspace, "push", "-q", "origin", "HEAD:refs/heads/main")
    github_fake.tokens.add(TOKEN)
    github_fake.add_repo("octo-org/octo-repo", default_branch="main", git_dir=bare)
    nothing_new = await pull_request(ctx, "Tidy up")
    github_fake.tokens.clear()
    (commands.workspace / "notes.md").write_text("more\n")
    refused_token = await pull_request(ctx, "Notes")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", bare.as_uri(), str(other))
    git(other, "-c", "user.name=o", "-c", "user.email=o@o", "commit", "-q", "--allow-empty",
         "-m", "someone else")  # fmt: skip
    git(other, "push", "-q", "-f", "origin", "HEAD:refs/heads/cockpit/main")
    (commands.workspace / "notes.md").write_text("even more\n")
    rejected = await pull_request(ctx, "More notes")

    assert no_token == (
        "I need your GitHub token for that. Add it on your account page "
        "(http://relay.test/account), or ask whoever runs this cockpit to store it "
        "(`cockpit github token +15551230001`)."
    )
    assert no_repo.startswith("I don't know your GitHub repository yet.")
    assert (
        nothing_new == "There is nothing to propose: cockpit/main has no commits that main lacks."
    )
    assert refused_token == (
        "GitHub refused your token (Bad credentials). Store a new one, then try again."
    )
    assert rejected.startswith("GitHub refused the push of cockpit/main:\n")
    assert "rejected" in rejected and TOKEN not in rejected


async def test_fix_without_a_failure_says_so_and_starts_nothing(commands: Commands) -> None:
    """`fix` when no build failed answers so and submits no turn."""
    assert await fix(commands.ctx, "") == (
        "There is no failed build to fix. I'll tell you when one fails."
    )
    assert commands.submitted == []


async def test_fix_works_on_the_failing_branch_with_its_job_log(
    commands: Commands, github_fake: GitHubFake, tmp_path: Path
) -> None:
    """A failure on `feature-x`: `fix` makes session fix-feature-x start from that branch and
    submits one turn whose prompt carries the failing job's log; a second `fix` finds nothing."""
    ctx, db = commands.ctx, commands.ctx.relay.db
    (commands.workspace / "feature.txt").write_text("work in progress\n")
    git(commands.workspace, "checkout", "-q", "-b", "feature-x")
    git(commands.workspace, "add", "feature.txt")
    git(commands.workspace, "-c", "user.name=a", "-c", "user.email=a@a", "commit", "-q",
         "-m", "wip")  # fmt: skip
    git(commands.workspace, "checkout", "-q", "main")
    github_fake.tokens.add(TOKEN)
    github_fake.add_repo("octo/app")
    github_fake.add_run("octo/app", 5, [{"id": 50, "name": "build", "log": "npm ERR! boom\n"}])
    secrets.put_secret(db, ctx.user_id, "github_token", TOKEN, key="test-secret-key")
    failed = FixContext("workflow", "octo/app", "test", "feature-x", "https://x/runs/5", "main",
                        (Job(50, "build", "failure", "npm test"),))  # fmt: skip
    github.record_delivery(db, "d-1", ctx.user_id, "octo/app", "workflow_run", {})
    github.finish(db, "d-1", [], failed.as_dict())

    reply = await fix(ctx, "")
    again = await fix(ctx, "")
    assert reply == "🔧 Claude is on it: *test* on feature-x, in session *fix-feature-x*."
    ((turn_id, session, prompt),) = commands.submitted
    assert (turn_id, session) == ("SMcmd1-fix", "fix-feature-x")
    assert "npm ERR! boom" in prompt and "does not have" not in prompt
    worktree = tmp_path / "host" / "worktrees" / "fix-feature-x"
    assert (worktree / "feature.txt").read_text() == "work in progress\n"
    assert again.startswith("There is no failed build to fix.")

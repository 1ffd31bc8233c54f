"""A failed build to a pull request, end to end: signed webhook → phone → `fix` → the real
Claude Code in the user's host → `/pr` → a real git push to a bare repository and a pull
request opened on the GitHub stand-in."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from cockpit.channels.simulator import SimMessage
from cockpit.core.github_events import sign
from cockpit.store import github, secrets, users
from cockpit.store.db import Database
from tests.fakes.anthropic import AnthropicFake, conversation_text, has_tool_result, say, tool
from tests.fakes.github import GitHubFake
from tests.gitrepo import git
from tests.live import serve, wait_until
from tests.relay.conftest import ADA, Stack, claude_overrides, host_answers, running_stack
from tests.requirements import require_chromium, require_claude_cli

pytestmark = [pytest.mark.claude, pytest.mark.slow]

PAYLOADS = Path(__file__).parents[2] / "fakes" / "github_payloads"
TOKEN = "ghp_adas_token_for_the_flow_0001"
LOG = "2024-05-01T10:00:00.0000000Z > jest\n2024-05-01T10:00:01.0000000Z npm ERR! sum.test.js: expected 4, got 5\n"  # noqa: E501


def _deliver(stack: Stack, secret: str, event: str, body: dict[str, Any]) -> None:
    """Post `body` as GitHub would: JSON, signed with the repository's secret."""
    raw = json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json", "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()), "X-Hub-Signature-256": sign(secret, raw),
    }  # fmt: skip
    response = httpx.post(f"{stack.relay_url}/github/webhook", content=raw, headers=headers)
    assert response.status_code == 202


def _documented(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    return loaded


def _site() -> Starlette:
    """The "deployed" app: a page on loopback, as a real deployment URL would serve."""
    page = HTMLResponse("<h1 style='color:#0a0'>Deployed: Hello-World is live</h1>")
    return Starlette(routes=[Route("/", lambda request: page)])


@pytest.fixture
def stack(
    claude_db: str, tmp_path: Path, anthropic_fake: AnthropicFake, github_fake: GitHubFake
) -> Iterator[Stack]:
    """Relay + phone + Ada's local host running the real CLI, GitHub's API on the stand-in."""
    require_claude_cli()
    overrides = claude_overrides(anthropic_fake) | {"github_api_base_url": github_fake.url}
    with running_stack(claude_db, tmp_path / "data", **overrides) as running:
        wait_until(lambda: host_answers(tmp_path / "data" / "hosts" / "15551230001"), timeout=90)
        yield running


def test_fix_then_pr_then_deployment_screenshot(
    stack: Stack, anthropic_fake: AnthropicFake, github_fake: GitHubFake, tmp_path: Path
) -> None:
    """`fix` gives Claude the failing job's log in the failing branch's session, `/pr` pushes
    cockpit/main for real and answers with the new PR's number, and the deployment that
    follows is announced with the host's screenshot of the deployed page."""
    require_chromium()
    db = stack.db
    workspace = (stack.settings.data_dir / "workspaces" / "15551230001").resolve()
    bare = tmp_path / "octo-repo.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    github_fake.tokens.add(TOKEN)
    github_fake.add_repo("octo-org/octo-repo", default_branch="main", git_dir=bare)
    github_fake.add_run("octo-org/octo-repo", 289782451, [
        {"id": 399444496, "name": "build", "conclusion": "failure", "log": LOG,
         "steps": [{"name": "Run npm test", "conclusion": "failure", "number": 3}]},
    ])  # fmt: skip
    ada = users.find_by_phone(db, ADA)
    assert ada is not None and stack.settings.secret_key is not None
    secret = github.link_repo(db, ada.id, "octo-org/octo-repo", key=stack.settings.secret_key)
    secrets.put_secret(db, ada.id, "github_token", TOKEN, key=stack.settings.secret_key)

    stack.send("/pr")
    stack.wait_for("no git remote *origin*")
    git(workspace, "remote", "add", "origin", bare.as_uri())
    git(workspace, "push", "-q", "origin", "HEAD:refs/heads/main")

    failed = _documented("workflow_run.completed")
    failed["workflow_run"]["conclusion"] = "failure"
    _deliver(stack, secret, "workflow_run", failed)
    stack.wait_for("Failing jobs: build (Run npm test)")
    anthropic_fake.script([
        tool("Write", {"file_path": str(workspace / "sum.js"),
                       "content": "export const four = 4;\n"}),
        say("Fixed the sum: it returns 4 now.", when=has_tool_result),
    ])  # fmt: skip
    stack.send("fix")
    stack.wait_for("Reply *pr* to open a pull request")
    assert any("Fixed the sum: it returns 4 now." in body for body in stack.bodies())
    asked = conversation_text(anthropic_fake.main_requests[0])
    assert "The CI workflow *test* failed on branch `master` of octo-org/octo-repo." in asked
    assert "npm ERR! sum.test.js: expected 4, got 5" in asked
    assert "🔧 Claude is on it: *test* on master, in session *main*." in stack.bodies()

    stack.send("/pr Fix the sum")
    stack.wait_for("Opened PR")
    assert "Opened PR #12: Fix the sum https://github.com/octo-org/octo-repo/pull/12" in (
        stack.bodies()
    )
    assert git(tmp_path, "--git-dir", str(bare), "show", "cockpit/main:sum.js") == (
        "export const four = 4;"
    )
    assert TOKEN not in (workspace / ".git" / "config").read_text()
    stack.send("approve")  # the seed's "Reply approve to create PR" is /pr too
    stack.wait_for("already open")
    assert (
        "A pull request for cockpit/main is already open, and now has your latest changes: "
        "#12 Fix the sum https://github.com/octo-org/octo-repo/pull/12"
    ) in stack.bodies()
    _deployment(stack, db, ada.id)


def _deployment(stack: Stack, db: Database, user_id: int) -> None:
    """GitHub's documented deployment_status example, with the deployed URL on loopback."""
    assert stack.settings.secret_key is not None
    secret = github.link_repo(db, user_id, "Codertocat/Hello-World", key=stack.settings.secret_key)
    with serve(_site()) as url:
        body = _documented("deployment_status")
        body["deployment_status"]["environment_url"] = url
        _deliver(stack, secret, "deployment_status", body)
        news = f"🚀 Deployed master to production · Codertocat/Hello-World\n{url}"
        stack.wait_for(news)
        shots = wait_until(lambda: [m for m in stack.received() if _is_jpeg(m)], timeout=60)
    assert stack.bodies().index(news) < stack.received().index(shots[0])
    assert Image.open(io.BytesIO(shots[0].media[0].data or b"")).width > 1440  # both viewports


def _is_jpeg(message: SimMessage) -> bool:
    return bool(message.media) and message.media[0].content_type == "image/jpeg"

"""Rules of GitHub events without I/O: signatures, which session a branch is, the fix prompt."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cockpit.core.github_events import (
    FixContext,
    Job,
    describe,
    fix_prompt,
    github_repo,
    jobs_from_api,
    session_for_branch,
    sign,
    signature_ok,
)

PAYLOADS = Path(__file__).parents[1] / "fakes" / "github_payloads"


def test_a_signature_matches_only_its_secret_and_body() -> None:
    """HMAC-SHA256 over the exact bytes: another secret, body or scheme does not match."""
    body = b'{"zen": "Keep it logically awesome."}'
    good = sign("s3cret", body)
    assert signature_ok("s3cret", body, good)
    assert not signature_ok("other", body, good)
    assert not signature_ok("s3cret", body + b" ", good)
    assert not signature_ok("s3cret", body, good.replace("sha256=", "sha1="))
    assert not signature_ok("s3cret", body, None)


def test_a_github_address_names_its_repository() -> None:
    """https://github.com/o/n(.git) is o/n; other hosts and shapes are not GitHub's."""
    assert github_repo("https://github.com/octo-org/octo-repo.git") == "octo-org/octo-repo"
    assert github_repo("https://github.com/octo-org/octo-repo") == "octo-org/octo-repo"
    assert github_repo("https://gitlab.com/octo-org/octo-repo") is None
    assert github_repo("https://github.com/octo-org") is None
    assert github_repo(None) is None


def test_each_branch_has_its_session() -> None:
    """cockpit/<s> is session s, the default branch is main, others get fix-<branch>."""
    assert session_for_branch("cockpit/auth-fix", "main") == "auth-fix"
    assert session_for_branch("master", "master") == "main"
    assert session_for_branch("Feature/Login_Page", "main") == "fix-feature-login-page"
    assert len(session_for_branch("x" * 80, "main")) <= 32


def test_the_fix_prompt_carries_jobs_and_the_tail_of_their_logs() -> None:
    """Claude is told what failed where, the failing jobs, and each log's last lines
    without Actions' timestamps."""
    ctx = FixContext("workflow", "octo/app", "test", "main", "https://x/runs/1", "main",
                     (Job(70, "build", "failure", "Run npm test"),))  # fmt: skip
    log = "\n".join(f"2024-01-02T03:04:05.1234567Z line {i}" for i in range(200))
    prompt = fix_prompt(ctx, {"build": log}, log_lines=3)
    assert "The CI workflow *test* failed on branch `main` of octo/app." in prompt
    assert "Failing jobs: build (Run npm test)." in prompt
    assert "```\nline 197\nline 198\nline 199\n```" in prompt
    assert "line 196" not in prompt


def test_jobs_from_the_api_name_their_failed_step() -> None:
    """A job's first failed step is kept with it; malformed entries are skipped."""
    listing = {"jobs": [
        {"id": 1, "name": "build", "conclusion": "failure",
         "steps": [{"name": "checkout", "conclusion": "success"},
                   {"name": "npm test", "conclusion": "failure"}]},
        {"id": "bad"},
    ]}  # fmt: skip
    assert jobs_from_api(listing) == [Job(1, "build", "failure", "npm test")]


def _documented(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    return loaded


def test_failed_checks_and_deployments_offer_fix_and_quiet_events_say_nothing() -> None:
    """A failed check suite or deployment gets its link and the fix offer; GitHub Actions'
    own suites, cancelled runs and pending deployments send nothing."""
    suite = _documented("check_suite.completed")
    suite["check_suite"]["conclusion"] = "failure"
    actions = _documented("check_suite.completed")
    actions["check_suite"]["app"]["slug"] = "github-actions"
    deploy = _documented("deployment_status")
    deploy["deployment_status"] |= {"state": "failure", "log_url": "https://example.com/log/1"}
    pending = _documented("deployment_status")
    pending["deployment_status"]["state"] = "in_progress"
    cancelled = _documented("workflow_run.completed")
    cancelled["workflow_run"]["conclusion"] = "cancelled"

    failed_suite, failed_deploy = (
        describe("check_suite", suite),
        describe("deployment_status", deploy),
    )
    assert failed_suite is not None and failed_deploy is not None
    assert failed_suite.text == (
        "❌ Checks failed on changes · Codertocat/Hello-World (octocoders-linter)\n"
        "https://github.com/Codertocat/Hello-World/commit/"
        "ec26c3e57ca3a959ca5aad62de7213c562f8c821/checks\nReply *fix* to let Claude fix it"
    )
    assert failed_deploy.text == (
        "❌ Deployment of master to production · Codertocat/Hello-World failed\n"
        "https://example.com/log/1\nReply *fix* to let Claude fix it"
    )
    assert failed_deploy.fix is not None and failed_deploy.fix.branch == "master"
    quiet = [
        describe("check_suite", actions), describe("deployment_status", pending),
        describe("workflow_run", cancelled), describe("issues", {"action": "opened"}),
    ]  # fmt: skip
    assert quiet == [None, None, None, None]

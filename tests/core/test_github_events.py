"""Rules of GitHub events without I/O: signatures, which session a branch is, the fix prompt."""

from __future__ import annotations

from cockpit.core.github_events import (
    FixContext,
    Job,
    fix_prompt,
    jobs_from_api,
    session_for_branch,
    sign,
    signature_ok,
)


def test_a_signature_matches_only_its_secret_and_body() -> None:
    """HMAC-SHA256 over the exact bytes: another secret, body or scheme does not match."""
    body = b'{"zen": "Keep it logically awesome."}'
    good = sign("s3cret", body)
    assert signature_ok("s3cret", body, good)
    assert not signature_ok("other", body, good)
    assert not signature_ok("s3cret", body + b" ", good)
    assert not signature_ok("s3cret", body, good.replace("sha256=", "sha1="))
    assert not signature_ok("s3cret", body, None)


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

"""The GitHub stand-in answers as GitHub's REST API documents: pull requests, job logs, errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx

from tests.fakes.github import GitHubFake

TOKEN = "ghp_standin_token_0001"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/vnd.github+json"}


def _bare_with_branch(tmp_path: Path) -> Path:
    """A bare repository with `main` and a branch `feature` one commit ahead."""
    work, bare = tmp_path / "work", tmp_path / "bare.git"
    run = lambda *a: subprocess.run(["git", *a], cwd=work, check=True, capture_output=True)  # noqa: E731
    work.mkdir()
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    run("init", "-q", "-b", "main")
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "one")
    run("remote", "add", "origin", str(bare))
    run("push", "-q", "origin", "main")
    run("checkout", "-q", "-b", "feature")
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "two")
    run("push", "-q", "origin", "feature")
    return bare


def test_a_pull_request_is_created_once_then_422_already_exists(
    github_fake: GitHubFake, tmp_path: Path
) -> None:
    """POST /pulls answers 201 with number and html_url; the same head again is GitHub's 422."""
    github_fake.tokens.add(TOKEN)
    github_fake.add_repo("octo/app", git_dir=_bare_with_branch(tmp_path))
    body = {"title": "Add feature", "head": "octo:feature", "base": "main", "body": "why"}
    url = f"{github_fake.url}/repos/octo/app/pulls"
    first = httpx.post(url, json=body, headers=AUTH)
    again = httpx.post(url, json=body, headers=AUTH)
    assert first.status_code == 201
    created = first.json()
    assert (created["number"], created["html_url"], created["head"]["ref"]) == (
        12,
        "https://github.com/octo/app/pull/12",
        "feature",
    )
    assert first.headers["location"].endswith("/repos/octo/app/pulls/12")
    assert again.status_code == 422
    assert again.json()["errors"][0]["message"] == "A pull request already exists for octo:feature."
    listed = httpx.get(url, params={"head": "octo:feature", "state": "open"}, headers=AUTH).json()
    assert [p["number"] for p in listed] == [12]


def test_a_pull_request_needs_a_pushed_branch_with_commits(
    github_fake: GitHubFake, tmp_path: Path
) -> None:
    """An unknown head branch is 422 invalid; a head with nothing new is "No commits between"."""
    github_fake.tokens.add(TOKEN)
    github_fake.add_repo("octo/app", git_dir=_bare_with_branch(tmp_path))
    url = f"{github_fake.url}/repos/octo/app/pulls"
    unknown = httpx.post(url, json={"title": "t", "head": "nope", "base": "main"}, headers=AUTH)
    same = httpx.post(url, json={"title": "t", "head": "main", "base": "main"}, headers=AUTH)
    missing = httpx.post(url, json={"head": "feature"}, headers=AUTH)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "head"
    assert same.json()["errors"][0]["message"] == "No commits between main and main"
    assert [e["field"] for e in missing.json()["errors"]] == ["title", "base"]


def test_job_logs_redirect_to_plain_text_and_tokens_are_checked(github_fake: GitHubFake) -> None:
    """Job logs answer 302 to a download of the text; no token or a wrong one is 401."""
    github_fake.tokens.add(TOKEN)
    github_fake.add_repo("octo/app")
    github_fake.add_run("octo/app", 7, [{"id": 70, "name": "build", "log": "npm ERR! test\n"}])
    logs = f"{github_fake.url}/repos/octo/app/actions/jobs/70/logs"
    redirect = httpx.get(logs, headers=AUTH)
    followed = httpx.get(logs, headers=AUTH, follow_redirects=True)
    assert redirect.status_code == 302 and followed.text == "npm ERR! test\n"
    jobs = httpx.get(f"{github_fake.url}/repos/octo/app/actions/runs/7/jobs", headers=AUTH).json()
    assert (jobs["total_count"], jobs["jobs"][0]["name"]) == (1, "build")
    assert httpx.get(logs).json()["message"] == "Requires authentication"
    wrong = httpx.get(logs, headers={"Authorization": "Bearer nope"})
    assert (wrong.status_code, wrong.json()["message"]) == (401, "Bad credentials")
    assert httpx.get(f"{github_fake.url}/repos/octo/gone", headers=AUTH).status_code == 404

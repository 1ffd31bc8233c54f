"""A stand-in for GitHub's REST API, served over real HTTP on loopback.

What cockpit calls, answered as GitHub documents it (docs.github.com/rest):

* `GET /repos/{owner}/{repo}` — the repository (404 `{"message": "Not Found"}`).
* `GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs` — `{"total_count", "jobs"}`.
* `GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs` — `302` to a download URL
  that serves the plain-text log.
* `POST /repos/{owner}/{repo}/pulls` — `201` with the pull request and a `Location`
  header; `422 Validation Failed` with GitHub's `errors` for a missing field, an
  unknown head branch, no commits between the branches, or "A pull request already
  exists for owner:branch."
* `GET /repos/{owner}/{repo}/pulls?head=owner:branch&state=open` — a list.
* `POST /repos/{owner}/{repo}/hooks` — `201` with the hook (its secret shown as
  `********`); a second hook to the same URL is `422 Hook already exists on this
  repository`. `GET …/hooks` lists them, `PATCH …/hooks/{id}` changes one.

Every call needs `Authorization: Bearer <token>` (or `token <token>`) with a known
token: none gives `401 Requires authentication`, another `401 Bad credentials`.
When a repository is backed by a bare git repository (`add_repo(..., git_dir=…)`),
branches and commits are read from it with real git, so a pull request is only
opened for a branch that was really pushed.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.live import serve

DOCS = "https://docs.github.com/rest"


@dataclass
class FakeRepo:
    """A repository the stand-in knows."""

    full_name: str
    default_branch: str = "main"
    git_dir: Path | None = None
    pulls: list[dict[str, Any]] = field(default_factory=list)
    runs: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    hooks: list[dict[str, Any]] = field(default_factory=list)  # config with the real secret


@dataclass
class GitHubFake:
    """State of the stand-in: repositories, tokens, job logs and every request seen."""

    tokens: set[str] = field(default_factory=set)
    repos: dict[str, FakeRepo] = field(default_factory=dict)
    logs: dict[int, str] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    next_number: int = 12
    url: str = ""

    def add_repo(self, full_name: str, **options: Any) -> FakeRepo:
        """Make a repository known (`default_branch`, `git_dir`)."""
        repo = FakeRepo(full_name, **options)
        self.repos[full_name.lower()] = repo
        return repo

    def add_run(self, full_name: str, run_id: int, jobs: list[dict[str, Any]]) -> None:
        """Jobs of a workflow run; a job's `log` (if given) is served as its log."""
        for job in jobs:
            if "log" in job:
                self.logs[int(job["id"])] = str(job.pop("log"))
        self.repos[full_name.lower()].runs[run_id] = jobs


def _error(status: int, message: str, errors: list[dict[str, Any]] | None = None) -> Response:
    body: dict[str, Any] = {"message": message, "documentation_url": DOCS}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status)


def _invalid(message: str) -> Response:
    """GitHub's 422 for a pull request it refuses, with its own words."""
    custom = {"resource": "PullRequest", "code": "custom", "message": message}
    return _error(422, "Validation Failed", [custom])


def _git(git_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "--git-dir", str(git_dir), *args], capture_output=True, text=True, check=False
    )


class _Api:
    def __init__(self, fake: GitHubFake):
        self.fake = fake

    def _auth(self, request: Request) -> Response | None:
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if not given:
            return _error(401, "Requires authentication")
        if scheme.lower() not in ("bearer", "token") or token.strip() not in self.fake.tokens:
            return _error(401, "Bad credentials")
        return None

    def _repo(self, request: Request) -> FakeRepo | Response:
        self.fake.requests.append((request.method, request.url.path))
        refused = self._auth(request)
        if refused is not None:
            return refused
        name = f"{request.path_params['owner']}/{request.path_params['repo']}".lower()
        return self.fake.repos.get(name) or _error(404, "Not Found")

    async def get_repo(self, request: Request) -> Response:
        repo = self._repo(request)
        if isinstance(repo, Response):
            return repo
        owner, name = repo.full_name.split("/")
        return JSONResponse({
            "id": abs(hash(repo.full_name)) % 10**9, "name": name, "full_name": repo.full_name,
            "owner": {"login": owner}, "private": False, "default_branch": repo.default_branch,
            "html_url": f"https://github.com/{repo.full_name}",
        })  # fmt: skip

    async def run_jobs(self, request: Request) -> Response:
        repo = self._repo(request)
        if isinstance(repo, Response):
            return repo
        jobs = repo.runs.get(int(request.path_params["run_id"]))
        if jobs is None:
            return _error(404, "Not Found")
        return JSONResponse({"total_count": len(jobs), "jobs": jobs})

    async def job_logs(self, request: Request) -> Response:
        repo = self._repo(request)
        if isinstance(repo, Response):
            return repo
        job_id = int(request.path_params["job_id"])
        if job_id not in self.fake.logs:
            return _error(404, "Not Found")
        return RedirectResponse(f"{self.fake.url}/_downloads/jobs/{job_id}.txt", status_code=302)

    async def download(self, request: Request) -> Response:
        text = self.fake.logs.get(int(request.path_params["job_id"]))
        if text is None:
            return PlainTextResponse("Not Found", status_code=404)
        return PlainTextResponse(text)

    async def pulls(self, request: Request) -> Response:
        repo = self._repo(request)
        if isinstance(repo, Response):
            return repo
        if request.method == "GET":
            head = request.query_params.get("head")
            state = request.query_params.get("state", "open")
            found = [p for p in repo.pulls if (state == "all" or p["state"] == state)
                     and (head is None or p["head"]["label"] == head)]  # fmt: skip
            return JSONResponse(found)
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "Problems parsing JSON")
        return self._create(repo, body if isinstance(body, dict) else {})

    def _create(self, repo: FakeRepo, body: dict[str, Any]) -> Response:
        missing = [f for f in ("title", "head", "base") if not body.get(f)]
        if missing:
            errors = [{"resource": "PullRequest", "field": f, "code": "missing_field"}
                      for f in missing]  # fmt: skip
            return _error(422, "Validation Failed", errors)
        owner = repo.full_name.split("/")[0]
        head = str(body["head"]).split(":")[-1]
        base = str(body["base"])
        refused = self._check_branches(repo, head, base)
        if refused is not None:
            return refused
        label = f"{owner}:{head}"
        if any(p["head"]["label"] == label and p["base"]["ref"] == base and p["state"] == "open"
               for p in repo.pulls):  # fmt: skip
            return _invalid(f"A pull request already exists for {label}.")
        pull = self._pull(repo, body, head, base, label)
        repo.pulls.append(pull)
        return JSONResponse(pull, status_code=201, headers={"Location": pull["url"]})

    def _check_branches(self, repo: FakeRepo, head: str, base: str) -> Response | None:
        if repo.git_dir is None:
            return None
        for name, branch in (("head", head), ("base", base)):
            if _git(repo.git_dir, "rev-parse", "--verify", f"refs/heads/{branch}").returncode:
                invalid = {"resource": "PullRequest", "field": name, "code": "invalid"}
                return _error(422, "Validation Failed", [invalid])
        ahead = _git(repo.git_dir, "rev-list", "--count", f"{base}..{head}").stdout.strip()
        if ahead == "0":
            return _invalid(f"No commits between {base} and {head}")
        return None

    def _pull(
        self, repo: FakeRepo, body: dict[str, Any], head: str, base: str, label: str
    ) -> dict[str, Any]:
        number = self.fake.next_number
        self.fake.next_number += 1
        sha = ""
        if repo.git_dir is not None:
            sha = _git(repo.git_dir, "rev-parse", f"refs/heads/{head}").stdout.strip()
        api = f"{self.fake.url}/repos/{repo.full_name}"
        return {
            "id": 1_000_000 + number, "number": number, "state": "open", "draft": False,
            "title": body["title"], "body": body.get("body"),
            "url": f"{api}/pulls/{number}",
            "html_url": f"https://github.com/{repo.full_name}/pull/{number}",
            "head": {"label": label, "ref": head, "sha": sha},
            "base": {"label": f"{label.split(':')[0]}:{base}", "ref": base},
            "user": {"login": label.split(":")[0]}, "merged": False,
        }  # fmt: skip


class _Hooks:
    def __init__(self, api: _Api):
        self.api = api

    async def hooks(self, request: Request) -> Response:
        repo = self.api._repo(request)
        if isinstance(repo, Response):
            return repo
        if request.method == "GET":
            return JSONResponse([_shown(h) for h in repo.hooks])
        body = await request.json()
        config = body.get("config") if isinstance(body, dict) else None
        if not isinstance(config, dict) or not config.get("url"):
            missing = {"resource": "Hook", "field": "config", "code": "missing_field"}
            return _error(422, "Validation Failed", [missing])
        if any(h["config"]["url"] == config["url"] for h in repo.hooks):
            custom = {"resource": "Hook", "code": "custom",
                      "message": "Hook already exists on this repository"}  # fmt: skip
            return _error(422, "Validation Failed", [custom])
        hook = {"type": "Repository", "id": 100 + len(repo.hooks), "name": "web",
                "active": body.get("active", True), "events": body.get("events") or ["push"],
                "config": dict(config)}  # fmt: skip
        repo.hooks.append(hook)
        return JSONResponse(_shown(hook), status_code=201)

    async def hook(self, request: Request) -> Response:
        repo = self.api._repo(request)
        if isinstance(repo, Response):
            return repo
        found = next((h for h in repo.hooks if h["id"] == request.path_params["hook_id"]), None)
        if found is None:
            return _error(404, "Not Found")
        body = await request.json()
        for key in ("active", "events"):
            if key in body:
                found[key] = body[key]
        found["config"] |= body.get("config") or {}
        return JSONResponse(_shown(found))


def _shown(hook: dict[str, Any]) -> dict[str, Any]:
    """A hook as GitHub shows it: the secret masked."""
    config = dict(hook["config"])
    if config.get("secret"):
        config["secret"] = "********"
    return {**hook, "config": config}


def create_github_app(fake: GitHubFake) -> Starlette:
    """The stand-in's ASGI app."""
    api = _Api(fake)
    hooks = _Hooks(api)
    repo = "/repos/{owner}/{repo}"
    return Starlette(
        routes=[
            Route(repo, api.get_repo),
            Route(repo + "/actions/runs/{run_id:int}/jobs", api.run_jobs),
            Route(repo + "/actions/jobs/{job_id:int}/logs", api.job_logs),
            Route(repo + "/pulls", api.pulls, methods=["GET", "POST"]),
            Route(repo + "/hooks", hooks.hooks, methods=["GET", "POST"]),
            Route(repo + "/hooks/{hook_id:int}", hooks.hook, methods=["PATCH"]),
            Route("/_downloads/jobs/{job_id:int}.txt", api.download),
        ]
    )


@pytest.fixture
def github_fake() -> Iterator[GitHubFake]:
    """A running GitHub stand-in: `.url`, `.tokens`, `.add_repo()`, `.add_run()`."""
    fake = GitHubFake()
    with serve(create_github_app(fake)) as url:
        fake.url = url
        yield fake

"""GitHub webhook events as phone messages, and the prompt of a `fix` (no I/O).

`describe` turns one event's payload (GitHub's documented shapes) into a `Notice`:
the text for the phone, what a later `fix` needs to know (failures only), and the
URL of a fresh deployment to photograph. Events that are not worth a message
(a cancelled run, a PR closed without merging, a pending deployment) give None.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

FIX_OFFER = "Reply *fix* to let Claude fix it"
FAILED = ("failure", "timed_out", "startup_failure")
# The GitHub Actions app reports every workflow as a check suite too; `workflow_run` says it
# better (names, jobs, a link), so its suites would only repeat it.
ACTIONS_APP = "github-actions"
BRANCH_PREFIX = "cockpit/"
SESSION_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
_GITHUB_URL = re.compile(r"^https://github\.com/([A-Za-z0-9-]+/[A-Za-z0-9._-]+?)(?:\.git)?/?$")


@dataclass(frozen=True)
class Job:
    """A job of a workflow run, as the Jobs API lists it."""

    id: int
    name: str
    conclusion: str | None
    failed_step: str | None = None


@dataclass(frozen=True)
class FixContext:
    """What Claude is told when the user replies `fix` to a failure."""

    kind: str  # "workflow", "checks" or "deployment"
    repo: str
    title: str
    branch: str
    url: str
    default_branch: str
    jobs: tuple[Job, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly form, for the database."""
        return {
            "kind": self.kind, "repo": self.repo, "title": self.title, "branch": self.branch,
            "url": self.url, "default_branch": self.default_branch,
            "jobs": [j.__dict__ for j in self.jobs],
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FixContext:
        """The context `as_dict` stored."""
        jobs = tuple(Job(**j) for j in data.get("jobs") or [])
        keys = ("kind", "repo", "title", "branch", "url", "default_branch")
        return cls(**{k: str(data.get(k) or "") for k in keys}, jobs=jobs)


@dataclass(frozen=True)
class Notice:
    """What one event means for the phone."""

    text: str
    fix: FixContext | None = None
    screenshot_url: str | None = None
    needs_jobs: bool = False  # a failed run whose jobs the Jobs API can name


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """True if `header` is `sha256=<HMAC-SHA256 of body under secret>` (constant time)."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.removeprefix("sha256=").strip().lower(), expected)


def sign(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` value GitHub sends with `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github_repo(url: str | None) -> str | None:
    """`owner/name` of an https://github.com/owner/name(.git) address, else None."""
    found = _GITHUB_URL.match(url or "")
    return found.group(1) if found else None


def repo_name(payload: dict[str, Any]) -> str | None:
    """The repository's `owner/name` an event is about, if it names one."""
    repo = payload.get("repository")
    name = repo.get("full_name") if isinstance(repo, dict) else None
    return name if isinstance(name, str) and name else None


def describe(event: str, payload: dict[str, Any], jobs: Sequence[Job] = ()) -> Notice | None:
    """The phone's message for one event, or None when it is not worth one."""
    rule = _RULES.get(event)
    return rule(payload, jobs) if rule else None


def _repo(payload: dict[str, Any]) -> dict[str, Any]:
    repo = payload.get("repository")
    return repo if isinstance(repo, dict) else {}


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _workflow_run(payload: dict[str, Any], jobs: Sequence[Job]) -> Notice | None:
    run = _d(payload.get("workflow_run"))
    if payload.get("action") != "completed":
        return None
    repo = _repo(payload)
    name = run.get("name") or _d(payload.get("workflow")).get("name") or "workflow"
    where = f"on {run.get('head_branch') or '?'} · {repo.get('full_name', '?')}"
    conclusion = run.get("conclusion")
    if conclusion == "success":
        return Notice(f"✅ *{name}* passed {where}")
    if conclusion not in FAILED:
        return None  # cancelled, skipped, neutral: nothing to tell
    failing = [j for j in jobs if j.conclusion in FAILED]
    lines = [f"❌ *{name}* failed {where}"]
    if failing:
        lines.append("Failing jobs: " + ", ".join(_job_label(j) for j in failing))
    lines += [str(run.get("html_url") or ""), FIX_OFFER]
    fix = FixContext(
        "workflow", str(repo.get("full_name") or ""), str(name),
        str(run.get("head_branch") or ""), str(run.get("html_url") or ""),
        str(repo.get("default_branch") or ""), tuple(failing),
    )  # fmt: skip
    return Notice("\n".join(line for line in lines if line), fix=fix, needs_jobs=True)


def _job_label(job: Job) -> str:
    return f"{job.name} ({job.failed_step})" if job.failed_step else job.name


def _check_suite(payload: dict[str, Any], jobs: Sequence[Job]) -> Notice | None:
    suite = _d(payload.get("check_suite"))
    app = _d(suite.get("app"))
    if payload.get("action") != "completed" or app.get("slug") == ACTIONS_APP:
        return None
    repo = _repo(payload)
    branch = suite.get("head_branch") or "?"
    where = f"on {branch} · {repo.get('full_name', '?')} ({app.get('name') or 'checks'})"
    if suite.get("conclusion") == "success":
        return Notice(f"✅ Checks passed {where}")
    if suite.get("conclusion") not in FAILED:
        return None
    url = f"{repo.get('html_url', '')}/commit/{suite.get('head_sha', '')}/checks"
    fix = FixContext(
        "checks", str(repo.get("full_name") or ""), str(app.get("name") or "checks"),
        str(branch), url, str(repo.get("default_branch") or ""),
    )  # fmt: skip
    return Notice(f"❌ Checks failed {where}\n{url}\n{FIX_OFFER}", fix=fix)


def _pull_request(payload: dict[str, Any], jobs: Sequence[Job]) -> Notice | None:
    pr = _d(payload.get("pull_request"))
    head = f"PR #{pr.get('number')}"
    url = pr.get("html_url") or ""
    if payload.get("action") == "opened":
        flow = f"{_d(pr.get('head')).get('ref')} → {_d(pr.get('base')).get('ref')}"
        where = f"{flow} · {_repo(payload).get('full_name', '?')}"
        return Notice(f"🔀 {head} opened: {pr.get('title')}\n{where}\n{url}")
    if payload.get("action") == "closed" and pr.get("merged"):
        return Notice(f"🎉 {head} merged: {pr.get('title')}\n{url}")
    return None


def _deployment_status(payload: dict[str, Any], jobs: Sequence[Job]) -> Notice | None:
    status = _d(payload.get("deployment_status"))
    deployment = _d(payload.get("deployment"))
    repo = _repo(payload)
    env = status.get("environment") or deployment.get("environment") or "?"
    ref = deployment.get("ref") or "?"
    where = f"{ref} to {env} · {repo.get('full_name', '?')}"
    if status.get("state") == "success":
        url = status.get("environment_url") or status.get("target_url") or ""
        lines = [f"🚀 Deployed {where}", url]
        return Notice("\n".join(x for x in lines if x), screenshot_url=url or None)
    if status.get("state") not in ("failure", "error"):
        return None  # queued, in_progress, pending, inactive
    url = status.get("log_url") or status.get("target_url") or ""
    fix = FixContext(
        "deployment", str(repo.get("full_name") or ""), f"deployment to {env}", str(ref),
        str(url), str(repo.get("default_branch") or ""),
    )  # fmt: skip
    lines = [f"❌ Deployment of {where} failed", url, FIX_OFFER]
    return Notice("\n".join(x for x in lines if x), fix=fix)


_RULES = {
    "workflow_run": _workflow_run,
    "check_suite": _check_suite,
    "pull_request": _pull_request,
    "deployment_status": _deployment_status,
}


def jobs_from_api(listing: dict[str, Any]) -> list[Job]:
    """The jobs of a `GET …/actions/runs/{id}/jobs` answer, with each one's failed step."""
    found: list[Job] = []
    jobs = listing.get("jobs") if isinstance(listing, dict) else None
    for job in jobs if isinstance(jobs, list) else []:
        if not isinstance(job, dict) or not isinstance(job.get("id"), int):
            continue
        steps = [s for s in job.get("steps") or [] if isinstance(s, dict)]
        failed = next((s.get("name") for s in steps if s.get("conclusion") in FAILED), None)
        found.append(Job(job["id"], str(job.get("name") or job["id"]), job.get("conclusion"),
                         str(failed) if failed else None))  # fmt: skip
    return found


def session_for_branch(branch: str, default_branch: str) -> str:
    """The session that works on `branch`: `cockpit/<s>` is session s, the default branch
    is `main`, any other branch gets a session `fix-<branch>` of its own."""
    if branch.startswith(BRANCH_PREFIX) and SESSION_NAME.match(branch[len(BRANCH_PREFIX) :]):
        return branch[len(BRANCH_PREFIX) :]
    if not branch or branch == default_branch:
        return "main"
    slug = re.sub(r"[^a-z0-9]+", "-", branch.lower()).strip("-")
    return ("fix-" + slug)[:32].rstrip("-") or "fix"


def fix_prompt(
    ctx: FixContext, logs: dict[str, str], *, branch_missing: bool = False, log_lines: int = 80
) -> str:
    """Claude's task for `fix`: what failed where, the failing jobs and their logs' tails."""
    what = {"workflow": "The CI workflow", "checks": "The checks", "deployment": "The"}[ctx.kind]
    lines = [f"{what} *{ctx.title}* failed on branch `{ctx.branch}` of {ctx.repo}."]
    if ctx.url:
        lines.append(f"Details: {ctx.url}")
    if ctx.jobs:
        lines.append("Failing jobs: " + ", ".join(_job_label(j) for j in ctx.jobs) + ".")
    for name, text in logs.items():
        tail = "\n".join(_strip_times(text).splitlines()[-log_lines:])
        lines.append(f"\nLast lines of the log of job {name}:\n```\n{tail}\n```")
    if not logs:
        lines.append("(No job logs: they need a GitHub token, or none could be fetched.)")
    if branch_missing:
        lines.append(
            f"\nThe workspace does not have `{ctx.branch}`, so this session started from its "
            f"HEAD: bring the branch in first (`git fetch origin {ctx.branch}` and "
            "`git reset --hard FETCH_HEAD`) if you can reach it."
        )
    lines.append(
        "\nFind the cause and fix it. Run the failing command locally to check the fix "
        "if you can. Do not push: I review the changes and open a pull request myself."
    )
    return "\n".join(lines)


_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z ", flags=re.MULTILINE)


def _strip_times(text: str) -> str:
    """Actions logs start each line with a timestamp; Claude does not need them."""
    return _TIMESTAMP.sub("", text)

"""`fix` and `/pr`: the relay's GitHub commands (see docs/github.md).

`fix` hands the user's newest failed build to Claude, in the session of the failing
branch, with the failing jobs and the tail of their logs (GitHub's REST API, with
the user's token). `/pr [title]` has the host commit and push the session's branch
`cockpit/<session>`, then opens a pull request with the user's token. Every refusal
is answered in plain words.
"""

from __future__ import annotations

from cockpit.core.github_events import FixContext, fix_prompt, session_for_branch
from cockpit.errors import GitHubError
from cockpit.log import get_logger
from cockpit.relay.commands import CommandContext, handles
from cockpit.relay.github.api import GitHubAPI
from cockpit.relay.github.worker import user_token
from cockpit.relay.hostclient import PushRefused
from cockpit.store import github, hosts

log = get_logger(__name__)
MAX_LOGS = 3  # jobs whose logs go into the prompt
ASK_FOR_KEY = (
    "I need your GitHub token for that. Add it on your account page ({account}), or ask "
    "whoever runs this cockpit to store it (`cockpit github token {phone}`)."
)
NO_REPO = (
    "I don't know your GitHub repository yet. Choose it on your account page ({account}), "
    "or ask whoever runs this cockpit to link it (`cockpit github link {phone} owner/name`)."
)
PUSH_REFUSED = {
    "no_remote": "Your workspace has no git remote *origin*, so there is nowhere to push. "
    "Add it (`git remote add origin https://github.com/owner/name.git`) and try again.",
    "no_worktree": "Session *{session}* has no work yet, so there is nothing to propose.",
    "rejected": "GitHub refused the push of {branch}:\n{message}",
    "failed": "The push of {branch} failed:\n{message}",
}


@handles("fix")
async def fix(ctx: CommandContext, args: str) -> str:
    """Start a turn that fixes the newest failure, in the failing branch's session."""
    failure = await ctx.relay.store(github.last_failure, ctx.user_id)
    if failure is None:
        return "There is no failed build to fix. I'll tell you when one fails."
    failed = FixContext.from_dict(failure.fix)
    session = session_for_branch(failed.branch, failed.default_branch)
    token = await user_token(ctx.relay, ctx.user_id)
    logs = await _job_logs(ctx, failed, token)
    elsewhere = False
    if session != "main" and failed.branch:
        prepared = await ctx.client.prepare_session(session, failed.branch, token)
        elsewhere = prepared.get("start") == "HEAD"  # the host does not have the branch
    prompt = fix_prompt(failed, logs, branch_missing=elsewhere)
    # Submitting twice is harmless (the turn id is the message's), so the failure is only
    # marked as taken once the host has the turn.
    await ctx.submit(f"{ctx.message_sid}-fix", session, prompt)
    await ctx.relay.store(github.take_failure, failure.delivery_id)
    log.info("github.fix", user_id=ctx.user_id, session=session, logs=len(logs))
    return f"🔧 Claude is on it: *{failed.title}* on {failed.branch}, in session *{session}*."


async def _job_logs(ctx: CommandContext, failed: FixContext, token: str | None) -> dict[str, str]:
    """The failing jobs' logs by job name; none without a token or when GitHub fails."""
    if not token or not failed.jobs:
        return {}
    api = GitHubAPI(ctx.relay.settings.github_api_base_url, token)
    logs = {}
    try:
        for job in failed.jobs[:MAX_LOGS]:
            try:
                logs[job.name] = await api.job_log(failed.repo, job.id)
            except GitHubError as exc:
                log.warning("github.log_failed", job_id=job.id, error=str(exc))
    finally:
        await api.aclose()
    return logs


@handles("pr")
async def pull_request(ctx: CommandContext, args: str) -> str:
    """Commit and push the session's branch, then open a pull request for it."""
    account = f"{ctx.relay.public_url}/account"
    token = await user_token(ctx.relay, ctx.user_id)
    if not token:
        return ASK_FOR_KEY.format(phone=ctx.phone, account=account)
    repos = await _repos(ctx)
    if not repos:
        return NO_REPO.format(phone=ctx.phone, account=account)
    title = args.strip() or await _default_title(ctx)
    try:
        pushed = await ctx.client.push(ctx.session, title, token)
    except PushRefused as exc:
        branch = f"cockpit/{ctx.session}"
        template = PUSH_REFUSED.get(exc.reason, PUSH_REFUSED["failed"])
        return template.format(session=ctx.session, branch=branch, message=exc)
    repo = _repo_of(repos, str(pushed.get("remote_url") or ""))
    return await _open(ctx, repo, str(pushed["branch"]), title, token)


async def _repos(ctx: CommandContext) -> list[str]:
    return await ctx.relay.store(github.user_repos, ctx.user_id)


async def _default_title(ctx: CommandContext) -> str:
    last = await ctx.relay.store(hosts.last_turn, ctx.user_id, ctx.session)
    text = " ".join(last.text.split()) if last is not None else ""
    if not text:
        return f"Changes from cockpit session {ctx.session}"
    return text if len(text) <= 72 else text[:71] + "…"


def _repo_of(repos: list[str], remote_url: str) -> str:
    """The linked repository the workspace's origin points at, else the first linked."""
    wanted = remote_url.lower().removesuffix(".git").rstrip("/")
    return next((r for r in repos if wanted.endswith("/" + r.lower())), repos[0])


async def _open(ctx: CommandContext, repo: str, branch: str, title: str, token: str) -> str:
    head = f"{repo.split('/')[0]}:{branch}"
    body = f"Opened from WhatsApp with cockpit (session *{ctx.session}*)."
    api = GitHubAPI(ctx.relay.settings.github_api_base_url, token)
    try:
        base = str((await api.repo(repo)).get("default_branch") or "main")
        try:
            pull = await api.create_pull(repo, head=head, base=base, title=title, body=body)
        except GitHubError as exc:
            return await _refused(api, repo, head, branch, base, exc)
    except GitHubError as exc:
        return _github_said(repo, exc)
    finally:
        await api.aclose()
    log.info("github.pr_opened", user_id=ctx.user_id, repo=repo, number=pull.get("number"))
    return f"Opened PR #{pull.get('number')}: {pull.get('title')} {pull.get('html_url')}"


async def _refused(
    api: GitHubAPI, repo: str, head: str, branch: str, base: str, exc: GitHubError
) -> str:
    said = str(exc)
    if exc.status == 422 and "already exists" in said:
        open_pull = await api.open_pull(repo, head)
        if open_pull is not None:
            return (f"A pull request for {branch} is already open, and now has your latest "
                    f"changes: #{open_pull.get('number')} {open_pull.get('title')} "
                    f"{open_pull.get('html_url')}")  # fmt: skip
    if exc.status == 422 and "No commits between" in said:
        return f"There is nothing to propose: {branch} has no commits that {base} lacks."
    return _github_said(repo, exc)


def _github_said(repo: str, exc: GitHubError) -> str:
    if exc.status == 401:
        return "GitHub refused your token (Bad credentials). Store a new one, then try again."
    if exc.status in (403, 404):
        return f"GitHub does not let your token open pull requests on {repo} ({exc})."
    return f"GitHub refused the pull request: {exc}"

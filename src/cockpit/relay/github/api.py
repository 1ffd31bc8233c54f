"""A small client of GitHub's REST API, with one user's token.

Only what the relay needs: a repository's default branch, a workflow run's jobs and
their logs, and pull requests (create, find). Errors become `GitHubError` with
GitHub's own message (`message` plus each `errors[].message`), which the phone sees.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from cockpit.errors import GitHubError

API_VERSION = "2022-11-28"


class GitHubAPI:
    """Calls `base_url` (https://api.github.com, or a stand-in) as the token's owner."""

    def __init__(self, base_url: str, token: str | None, *, timeout: float = 15.0):
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "cockpit",
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        # Job logs answer with a redirect to a short-lived download URL; httpx drops the
        # Authorization header when the redirect leaves the API's origin.
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=5.0),
            follow_redirects=True,
        )

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise GitHubError(f"GitHub did not answer ({type(exc).__name__})") from None
        if response.status_code >= 400:
            raise GitHubError(_message(response), status=response.status_code)
        return response

    async def repo(self, full_name: str) -> dict[str, Any]:
        """`GET /repos/{owner}/{repo}`."""
        found: dict[str, Any] = (await self._call("GET", f"/repos/{_path(full_name)}")).json()
        return found

    async def run_jobs(self, full_name: str, run_id: int) -> dict[str, Any]:
        """`GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs` (latest attempt)."""
        path = f"/repos/{_path(full_name)}/actions/runs/{run_id}/jobs"
        response = await self._call("GET", path, params={"filter": "latest", "per_page": 100})
        listing: dict[str, Any] = response.json()
        return listing

    async def job_log(self, full_name: str, job_id: int, max_bytes: int = 200_000) -> str:
        """The plain-text log of a job (its last `max_bytes`)."""
        path = f"/repos/{_path(full_name)}/actions/jobs/{job_id}/logs"
        response = await self._call("GET", path)
        return response.content[-max_bytes:].decode("utf-8", errors="replace")

    async def create_pull(
        self, full_name: str, *, head: str, base: str, title: str, body: str
    ) -> dict[str, Any]:
        """`POST /repos/{owner}/{repo}/pulls`: the new pull request."""
        payload = {"title": title, "head": head, "base": base, "body": body}
        response = await self._call("POST", f"/repos/{_path(full_name)}/pulls", json=payload)
        created: dict[str, Any] = response.json()
        return created

    async def open_pull(self, full_name: str, head: str) -> dict[str, Any] | None:
        """The open pull request from `owner:branch`, if there is one."""
        params = {"head": head, "state": "open"}
        response = await self._call("GET", f"/repos/{_path(full_name)}/pulls", params=params)
        found = response.json()
        return found[0] if isinstance(found, list) and found else None

    async def create_hook(
        self, full_name: str, *, url: str, secret: str, events: list[str]
    ) -> dict[str, Any]:
        """`POST /repos/{owner}/{repo}/hooks`: a JSON webhook to `url` signed with `secret`;
        when a hook to `url` exists already (GitHub's 422), its secret and events are updated."""
        config = {"url": url, "content_type": "json", "secret": secret, "insecure_ssl": "0"}
        body = {"name": "web", "active": True, "events": events, "config": config}
        path = f"/repos/{_path(full_name)}/hooks"
        try:
            created: dict[str, Any] = (await self._call("POST", path, json=body)).json()
            return created
        except GitHubError as exc:
            if exc.status != 422 or "already exists" not in str(exc):
                raise
        hooks = (await self._call("GET", path)).json()
        same = next((h for h in hooks if _d(h.get("config")).get("url") == url), None)
        if same is None:
            raise GitHubError(f"GitHub says a hook exists but lists none to {url}", status=422)
        patch = {"active": True, "events": events, "config": config}
        updated: dict[str, Any] = (
            await self._call("PATCH", f"{path}/{same['id']}", json=patch)
        ).json()
        return updated

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _path(full_name: str) -> str:
    owner, _, name = full_name.partition("/")
    return f"{quote(owner, safe='')}/{quote(name, safe='')}"


def _message(response: httpx.Response) -> str:
    """GitHub's explanation of an error: its `message` and each of its `errors`."""
    try:
        data = response.json()
    except ValueError:
        return f"GitHub answered {response.status_code}"
    if not isinstance(data, dict):
        return f"GitHub answered {response.status_code}"
    parts = [str(data.get("message") or f"GitHub answered {response.status_code}")]
    for error in data.get("errors") or []:
        if isinstance(error, dict) and error.get("message"):
            parts.append(str(error["message"]))
        elif isinstance(error, str):
            parts.append(error)
    return ": ".join(parts)

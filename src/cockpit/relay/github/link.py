"""Creating a repository's webhook on GitHub with its user's token (`cockpit github link
--create-hook`), so nobody has to paste the secret by hand."""

from __future__ import annotations

from typing import Any

from cockpit.config import Settings
from cockpit.relay.github.api import GitHubAPI

EVENTS = ["workflow_run", "check_suite", "pull_request", "deployment_status"]


async def install_webhook(settings: Settings, token: str, repo: str, secret: str) -> dict[str, Any]:
    """Create (or update) the hook to this relay's `/github/webhook`; GitHub's hook object."""
    assert settings.public_url, "checked by the caller"
    api = GitHubAPI(settings.github_api_base_url, token)
    try:
        url = f"{settings.public_url}/github/webhook"
        return await api.create_hook(repo, url=url, secret=secret, events=EVENTS)
    finally:
        await api.aclose()

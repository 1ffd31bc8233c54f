"""Connecting GitHub at signup through the OAuth web flow, against GitHub's stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import SecretStr

from cockpit.store import secrets
from tests.fakes.github_oauth import GitHubOAuthFake, running_oauth_fake
from tests.web.conftest import Site


@pytest.fixture
def github(site: Site) -> Iterator[GitHubOAuthFake]:
    """The OAuth stand-in, and the relay configured with its app."""
    for fake in running_oauth_fake("http://relay.test/signup/github/callback"):
        settings = site.relay.settings
        settings.github_client_id = fake.client_id
        settings.github_client_secret = SecretStr(fake.client_secret)
        settings.github_oauth_base_url = fake.url
        yield fake


async def via_github(site: Site) -> str:
    """Press "Sign in with GitHub", approve there; the callback path GitHub sends back to."""
    start = await site.client.get("/signup/github/start")
    assert start.status_code == 303
    async with httpx.AsyncClient() as browser:
        approved = await browser.get(start.headers["location"])
    back = urlsplit(approved.headers["location"])
    return f"{back.path}?{back.query}"


async def test_signing_in_with_github_stores_its_token(site: Site, github: GitHubOAuthFake) -> None:
    """The page offers GitHub sign-in; after approving, the token GitHub gave is stored."""
    await site.verified()
    assert 'id="github-oauth"' in (await site.client.get("/signup/github")).text
    done = await site.client.get(await via_github(site))
    assert done.status_code == 303 and done.headers["location"] == "/signup/keys"
    user = site.user()
    assert user is not None
    key = site.relay.settings.secret_key
    assert key is not None
    assert secrets.get_secret(site.relay.db, user.id, "github_token", key=key) == github.tokens[0]


async def test_a_callback_with_another_state_is_refused(
    site: Site, github: GitHubOAuthFake
) -> None:
    """A callback whose state is not this session's gets a 400 and stores nothing."""
    await site.verified()
    callback = (await via_github(site)).replace("state=", "state=forged")
    refused = await site.client.get(callback)
    assert refused.status_code == 400 and "did not match" in refused.text
    assert github.tokens == []


async def test_a_code_github_refuses_is_told_plainly(site: Site, github: GitHubOAuthFake) -> None:
    """A code used twice: GitHub's bad_verification_code reaches the page in words (502)."""
    await site.verified()
    callback = await via_github(site)
    await site.client.get(callback)
    again = await site.client.get(callback)
    assert again.status_code == 502
    assert "GitHub refused the sign-in: The code passed is incorrect or expired." in again.text

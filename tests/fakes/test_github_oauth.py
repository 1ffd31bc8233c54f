"""The GitHub OAuth stand-in answers as GitHub documents: a code once, errors as 200s."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.fakes.github_oauth import GitHubOAuthFake, running_oauth_fake

CALLBACK = "http://relay.test/signup/github/callback"


@pytest.fixture
def fake() -> Iterator[GitHubOAuthFake]:
    """A running OAuth stand-in."""
    yield from running_oauth_fake(CALLBACK)


def authorize(fake: GitHubOAuthFake) -> dict[str, list[str]]:
    """Go through the authorize page; the query GitHub sends the browser back with."""
    query = {"client_id": fake.client_id, "redirect_uri": CALLBACK, "state": "s1", "scope": "repo"}
    answer = httpx.get(f"{fake.url}/login/oauth/authorize", params=query)
    assert answer.status_code == 302 and answer.headers["location"].startswith(CALLBACK)
    return parse_qs(urlsplit(answer.headers["location"]).query)


def exchange(fake: GitHubOAuthFake, code: str, secret: str | None = None) -> dict[str, str]:
    """POST the code to the token endpoint, asking for JSON."""
    data = {"client_id": fake.client_id, "client_secret": secret or fake.client_secret,
            "code": code, "redirect_uri": CALLBACK}  # fmt: skip
    answer = httpx.post(f"{fake.url}/login/oauth/access_token", data=data,
                        headers={"Accept": "application/json"})  # fmt: skip
    assert answer.status_code == 200
    body: dict[str, str] = answer.json()
    return body


def test_a_code_gives_a_token_once(fake: GitHubOAuthFake) -> None:
    """The state comes back unchanged; the code gives a gho_ token, and a second time an error."""
    back = authorize(fake)
    assert back["state"] == ["s1"]
    first = exchange(fake, back["code"][0])
    assert first["access_token"].startswith("gho_") and first["token_type"] == "bearer"
    assert exchange(fake, back["code"][0])["error"] == "bad_verification_code"


def test_a_wrong_client_secret_is_refused_in_a_200(fake: GitHubOAuthFake) -> None:
    """Wrong app credentials answer 200 with incorrect_client_credentials, as GitHub does."""
    back = authorize(fake)
    assert exchange(fake, back["code"][0], secret="wrong")["error"] == (
        "incorrect_client_credentials"
    )

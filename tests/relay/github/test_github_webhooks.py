"""GitHub's documented webhook payloads, signed and posted to a running relay, as the phone
sees them; forged, replayed and malformed deliveries leave no trace."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from cockpit.core.github_events import sign
from cockpit.server import build_relay, create_app
from cockpit.store import github, outbox, secrets, users
from cockpit.store.db import Database
from cockpit.store.migrate import upgrade
from tests.fakes.github import GitHubFake
from tests.relay.conftest import ADA, Stack, relay_settings, running_stack

PAYLOADS = Path(__file__).parents[2] / "fakes" / "github_payloads"
OCTO = "octo-org/octo-repo"
HELLO = "Codertocat/Hello-World"
RUN_URL = "https://github.com/octo-org/octo-repo/actions/runs/289782451"


def payload(name: str) -> dict[str, Any]:
    """One of GitHub's documented example payloads."""
    loaded: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    return loaded


class Hooks:
    """Posts webhooks to the relay the way GitHub does: JSON, signed, with a delivery id."""

    def __init__(self, stack: Stack):
        self.stack = stack
        assert stack.settings.secret_key is not None
        ada = users.find_by_phone(stack.db, ADA)
        assert ada is not None
        self.user_id = ada.id
        key = stack.settings.secret_key
        self.secrets = {repo: github.link_repo(stack.db, ada.id, repo, key=key)
                        for repo in (OCTO, HELLO)}  # fmt: skip

    def post(
        self, event: str, body: dict[str, Any] | bytes, *, delivery: str | None = None,
        secret: str | None = None, signature: str | None = None,
    ) -> httpx.Response:  # fmt: skip
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        repo = HELLO if isinstance(body, bytes) else body["repository"]["full_name"]
        headers = {
            "Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/044aadd",
            "X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        }  # fmt: skip
        if signature is None:
            signature = sign(secret or self.secrets[repo], raw)
        if signature:
            headers["X-Hub-Signature-256"] = signature
        return httpx.post(f"{self.stack.relay_url}/github/webhook", content=raw, headers=headers)


@contextmanager
def _hooks(db_url: str, tmp_path: Path, github_fake: GitHubFake) -> Iterator[Hooks]:
    with running_stack(db_url, tmp_path / "data", github_api_base_url=github_fake.url) as stack:
        yield Hooks(stack)


@pytest.fixture
def db_hooks(db_url: str, tmp_path: Path, github_fake: GitHubFake) -> Iterator[Hooks]:
    """A relay (echo agent) + phone with Ada, her two repositories linked to her; on SQLite
    and PostgreSQL (storing and deduplicating deliveries is database work)."""
    with _hooks(db_url, tmp_path, github_fake) as running:
        yield running


@pytest.fixture
def hooks(tmp_path: Path, github_fake: GitHubFake) -> Iterator[Hooks]:
    """The same on SQLite only, for checks that happen before anything is stored."""
    url = f"sqlite:///{tmp_path / 'cockpit.db'}"
    upgrade(url)
    with _hooks(url, tmp_path, github_fake) as running:
        yield running


@dataclass
class InProcess:
    """The relay's app called in-process (no servers, no workers), Ada linked to OCTO."""

    client: httpx.AsyncClient
    db: Database
    secret: str

    async def post(
        self, event: str, body: dict[str, Any] | bytes, *, secret: str | None = None,
        signature: str | None = None, headers: dict[str, str] | None = None,
    ) -> httpx.Response:  # fmt: skip
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent = {"Content-Type": "application/json", "X-GitHub-Event": event,
                "X-GitHub-Delivery": str(uuid.uuid4())}  # fmt: skip
        signature = sign(secret or self.secret, raw) if signature is None else signature
        if signature:
            sent["X-Hub-Signature-256"] = signature
        return await self.client.post(
            "/github/webhook", content=raw, headers=sent | (headers or {})
        )


@pytest.fixture
async def inprocess(tmp_path: Path) -> AsyncIterator[InProcess]:
    """The relay app on a fresh SQLite database, reached through httpx's ASGI transport."""
    url = f"sqlite:///{tmp_path / 'cockpit.db'}"
    upgrade(url)
    settings = relay_settings(url, tmp_path / "data", "http://relay.test", "http://sim.test")
    relay = build_relay(settings)
    ada = users.add_user(relay.db, ADA, "Ada")
    secret = github.link_repo(relay.db, ada.id, OCTO, key="test-secret-key")
    transport = httpx.ASGITransport(app=create_app(relay))
    async with httpx.AsyncClient(transport=transport, base_url="http://relay.test") as client:
        yield InProcess(client, relay.db, secret)
    relay.db.dispose()


def failed_run() -> dict[str, Any]:
    """The documented `workflow_run` example, with the run failed instead of succeeded."""
    body = payload("workflow_run.completed")
    body["workflow_run"]["conclusion"] = "failure"
    return body


def test_documented_payloads_reach_the_phone_as_these_messages(db_hooks: Hooks) -> None:
    """Each documented event, signed, becomes one exact WhatsApp message; ping and a PR closed
    without merging send nothing."""
    merged = payload("pull_request.closed")
    merged["pull_request"] |= {"merged": True, "merged_at": "2019-05-15T15:21:14Z"}
    sent = [
        ("ping", payload("ping")),
        ("workflow_run", payload("workflow_run.completed")),
        ("check_suite", payload("check_suite.completed")),
        ("pull_request", payload("pull_request.opened")),
        ("pull_request", payload("pull_request.closed")),
        ("pull_request", merged),
        ("deployment_status", payload("deployment_status")),
        ("workflow_run", failed_run()),
    ]
    db_hooks.secrets["Octocoders/Hello-World"] = github.link_repo(
        db_hooks.stack.db, db_hooks.user_id, "Octocoders/Hello-World", key="test-secret-key"
    )
    statuses = [db_hooks.post(event, body).status_code for event, body in sent]
    assert statuses == [200, 202, 202, 202, 202, 202, 202, 202]
    bodies = db_hooks.stack.wait_received(6) and db_hooks.stack.bodies()
    assert bodies == [
        "✅ *test* passed on master · octo-org/octo-repo",
        "✅ Checks passed on changes · Codertocat/Hello-World (octocoders-linter)",
        "🔀 PR #2 opened: Update the README with new information.\n"
        "changes → master · Codertocat/Hello-World\nhttps://github.com/Codertocat/Hello-World/pull/2",
        "🎉 PR #2 merged: Update the README with new information.\n"
        "https://github.com/Codertocat/Hello-World/pull/2",
        "🚀 Deployed master to production · Codertocat/Hello-World",
        f"❌ *test* failed on master · octo-org/octo-repo\n{RUN_URL}\n"
        "Reply *fix* to let Claude fix it",
    ]


def test_a_failed_run_names_its_failing_jobs_when_a_token_is_there(
    hooks: Hooks, github_fake: GitHubFake
) -> None:
    """With the user's token, the failure message lists the failing jobs (and failed step)
    the Jobs API reports."""
    github_fake.tokens.add("ghp_adas_token_0001")
    github_fake.add_repo(OCTO, default_branch="master")
    step = {"name": "Run npm test", "status": "completed", "conclusion": "failure", "number": 3}
    github_fake.add_run(OCTO, 289782451, [
        {"id": 399444496, "name": "build", "status": "completed", "conclusion": "failure",
         "steps": [{"name": "Set up job", "conclusion": "success", "number": 1}, step]},
        {"id": 399444497, "name": "lint", "status": "completed", "conclusion": "success",
         "steps": []},
    ])  # fmt: skip
    secrets.put_secret(hooks.stack.db, hooks.user_id, "github_token", "ghp_adas_token_0001",
                       key="test-secret-key")  # fmt: skip
    assert hooks.post("workflow_run", failed_run()).status_code == 202
    (message,) = hooks.stack.wait_received(1)
    assert message.body == (
        "❌ *test* failed on master · octo-org/octo-repo\n"
        f"Failing jobs: build (Run npm test)\n{RUN_URL}\nReply *fix* to let Claude fix it"
    )
    assert ("GET", "/repos/octo-org/octo-repo/actions/runs/289782451/jobs") in github_fake.requests


async def test_forged_or_unsigned_deliveries_get_401_and_store_nothing(
    inprocess: InProcess,
) -> None:
    """A wrong secret, a missing signature or a signature of another body is refused, and no
    delivery is kept (so no message can follow)."""
    body = failed_run()
    other = json.dumps({**body, "action": "requested"}).encode()
    forged = [
        await inprocess.post("workflow_run", body, secret="not-the-secret"),
        await inprocess.post("workflow_run", body, signature=""),
        await inprocess.post("workflow_run", body, signature=sign(inprocess.secret, other)),
        await inprocess.post("workflow_run", body, signature="sha1=" + "0" * 40),
    ]
    assert [r.status_code for r in forged] == [401, 401, 401, 401]
    assert forged[1].json()["detail"].startswith("X-Hub-Signature-256 is required")
    assert github.delivery_count(inprocess.db) == 0
    assert outbox.for_recipient(inprocess.db, ADA) == []


async def test_linked_and_unlinked_repositories_answer_a_bad_signature_alike(
    inprocess: InProcess,
) -> None:
    """A forged delivery gets the same status, body and headers whether or not the
    repository is linked here: nobody learns which repositories are."""
    stranger = {**failed_run(), "repository": {**failed_run()["repository"],
                                                "full_name": "someone/else"}}  # fmt: skip
    linked = await inprocess.post("workflow_run", failed_run(), secret="guess")
    unlinked = await inprocess.post("workflow_run", stranger, secret="guess")
    assert (linked.status_code, linked.content) == (unlinked.status_code, unlinked.content)
    assert linked.status_code == 401
    same = [(k, v) for k, v in linked.headers.items() if k != "date"]
    assert same == [(k, v) for k, v in unlinked.headers.items() if k != "date"]


def test_a_redelivery_produces_nothing_new(db_hooks: Hooks) -> None:
    """GitHub's "Redeliver" sends the same delivery id: answered 200, no second message
    (and counted as a duplicate in /metrics)."""
    first = db_hooks.post(
        "workflow_run", failed_run(), delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958"
    )
    again = [
        db_hooks.post("workflow_run", failed_run(), delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
        for _ in range(3)
    ]
    assert first.status_code == 202
    assert [(r.status_code, r.json()["status"]) for r in again] == [(200, "duplicate")] * 3
    (message,) = db_hooks.stack.wait_received(1)
    assert message.body.startswith("❌ *test* failed on master")
    assert github.delivery_count(db_hooks.stack.db) == 1
    assert len(outbox.for_recipient(db_hooks.stack.db, ADA)) == 1  # every message is a row
    metrics = httpx.get(f"{db_hooks.stack.relay_url}/metrics").text
    assert 'cockpit_github_webhooks_total{result="duplicate"} 3.0' in metrics


async def test_bad_deliveries_are_refused_with_a_reason_and_unknown_repositories_ignored(
    inprocess: InProcess,
) -> None:
    """Malformed or absurdly nested JSON, another content type, a body over the cap, missing
    headers and a NUL get a 4xx that says why; a repository nobody linked gets the 401 of a
    bad signature; nothing is stored."""
    stranger = payload("workflow_run.completed")
    stranger["repository"]["full_name"] = "someone/else"
    big = json.dumps({"repository": {"full_name": OCTO}, "x": "a" * 1_100_000}).encode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    answers = [
        await inprocess.post("workflow_run", b"{not json"),
        await inprocess.post("ping", b"payload=%7B%7D", headers=form),
        await inprocess.post("workflow_run", big),
        await inprocess.client.post("/github/webhook", json={"zen": "hi"}),
        await inprocess.post("workflow_run", stranger, secret="whatever"),
        await inprocess.post("workflow_run", {**failed_run(), "zen": "a\x00b"}),
        await inprocess.post("workflow_run", b"[" * 100_000 + b"]" * 100_000),
    ]
    assert [r.status_code for r in answers] == [400, 415, 413, 400, 401, 400, 400]
    assert "not valid JSON" in answers[0].json()["detail"]
    assert "application/json" in answers[1].json()["detail"]
    assert github.delivery_count(inprocess.db) == 0

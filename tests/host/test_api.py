"""The host's HTTP surface without Claude Code: authentication, validation, health."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from cockpit.config import Settings
from cockpit.errors import ConfigError
from cockpit.host import create_host_app
from tests.fakes.anthropic import AnthropicFake
from tests.host.conftest import TOKEN

PROTECTED = [
    ("POST", "/turns", {"turn_id": "t1", "session": "main", "text": "hi"}),
    ("GET", "/turns/t1", None),
    ("POST", "/turns/t1/interrupt", None),
    ("POST", "/turns/cancel-queued", {"session": "main"}),
    ("POST", "/approvals/ap_1", {"decision": "allow"}),
    ("POST", "/questions/q_1", {"answer": "yes"}),
    ("GET", "/events?after=0", None),
    ("GET", "/files/img_1", None),
]


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}]
)
async def test_requests_without_the_right_token_are_refused(
    start_host: Any, headers: dict[str, str]
) -> None:
    """Every endpoint but /health answers 401 without `Bearer <host token>`."""
    host = await start_host()
    async with httpx.AsyncClient(base_url=host.url, headers=headers) as client:
        for method, path, body in PROTECTED:
            response = await client.request(method, path, json=body)
            assert response.status_code == 401, (method, path)
    assert (await host.client.get("/turns/t1")).status_code == 404


async def test_health_shows_details_only_with_the_token(start_host: Any) -> None:
    """/health says idle/busy to anyone, and branch, commit and sessions to the relay."""
    host = await start_host()
    async with httpx.AsyncClient(base_url=host.url) as anonymous:
        public = (await anonymous.get("/health")).json()
    assert public == {"state": "idle"}
    full = (await host.client.get("/health")).json()
    assert full["state"] == "idle" and full["queued"] == 0 and full["current_turn"] is None
    assert full["branch"] == "main"
    assert full["last_commit"]["subject"] == "Start of the cockpit workspace"


async def test_unsafe_attachment_names_are_refused(start_host: Any) -> None:
    """An attachment named like a path (../, /etc/…) is refused with 400 and runs nothing."""
    host = await start_host()
    data = base64.b64encode(b"x").decode()
    for name in ("../evil.sh", "/etc/passwd", ".hidden", "a/b.txt"):
        media = [{"filename": name, "content_type": "text/plain", "data_b64": data}]
        response = await host.client.post(
            "/turns", json={"turn_id": "t1", "session": "main", "text": "x", "media": media}
        )
        assert response.status_code == 400, name
    assert (await host.client.get("/turns/t1")).status_code == 404
    assert not (host.workspace.parent / "evil.sh").exists()


async def test_unknown_approvals_and_questions_are_404(start_host: Any) -> None:
    """Answering an approval or question that does not exist gives 404."""
    host = await start_host()
    approval = await host.client.post("/approvals/ap_nope", json={"decision": "allow"})
    question = await host.client.post("/questions/q_nope", json={"answer": "x"})
    bad = await host.client.post("/approvals/ap_nope", json={"decision": "maybe"})
    assert (approval.status_code, question.status_code, bad.status_code) == (404, 404, 422)


def test_host_refuses_to_start_without_a_token(
    tmp_path: Path, anthropic_fake: AnthropicFake
) -> None:
    """A host without COCKPIT_HOST_TOKEN does not start (it would be open to anyone)."""
    with pytest.raises(ConfigError, match="COCKPIT_HOST_TOKEN"):
        create_host_app(Settings(data_dir=tmp_path))


def test_workspace_is_made_a_git_repository(tmp_path: Path) -> None:
    """An empty workspace becomes a git repository, its phone inbox ignored by git."""
    settings = Settings(data_dir=tmp_path / "data", host_token="t", workspace=tmp_path / "ws")
    create_host_app(settings)
    assert (tmp_path / "ws" / ".git").is_dir()
    (tmp_path / "ws" / ".cockpit" / "inbox").mkdir(parents=True)
    (tmp_path / "ws" / ".cockpit" / "inbox" / "photo.jpg").write_bytes(b"x")
    status = subprocess.run(
        ["git", "-C", str(tmp_path / "ws"), "status", "--porcelain"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout == ""
    assert (tmp_path / "data" / "host.db").is_file()

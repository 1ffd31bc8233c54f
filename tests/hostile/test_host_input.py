"""The agent host against forged tokens, path-like attachment names and oversized bodies.

Every check ends by comparing the host's database tables and its data folder with a
snapshot taken before: a refused request must leave nothing behind.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from cockpit.host import create_host_app
from cockpit.host.body_limit import MAX_BODY_BYTES
from tests.fakes.anthropic import AnthropicFake
from tests.host.conftest import TOKEN, RunningHost, host_settings
from tests.hostile.conftest import raw_request
from tests.live import serve

BODIES: dict[str, Any] = {
    "/turns": {"turn_id": "t1", "session": "main", "text": "hi"},
    "/turns/cancel-queued": {"session": "main"},
    "/approvals/{approval_id}": {"decision": "allow"},
    "/questions/{question_id}": {"answer": "yes"},
    "/visuals/diff": {}, "/visuals/screenshot": {}, "/visuals/auto": {"enabled": False},
}  # fmt: skip
BASIC = base64.b64encode(f"relay:{TOKEN}".encode()).decode()
FORGED: list[dict[str, Any]] = [
    {}, {"Authorization": ""}, {"Authorization": "Bearer"},
    {"Authorization": TOKEN}, {"Authorization": f"Basic {BASIC}"},
    {"Authorization": f"Token {TOKEN}"}, {"Authorization": f"Bearer {TOKEN}x"},
    {"Authorization": f"Bearer {TOKEN[:-1]}"}, {"Authorization": f"Bearer {TOKEN} {TOKEN}"},
    {"Authorization": f"Bearer{TOKEN}"}, {"Authorization": b"Bearer " + "é".encode("latin-1")},
]  # fmt: skip


@pytest.fixture
async def host(tmp_path: Path, anthropic_fake: AnthropicFake) -> AsyncIterator[RunningHost]:
    """A real host on loopback (its Claude Code never runs in these tests)."""
    settings = host_settings(tmp_path / "host", anthropic_fake)
    running = await RunningHost(settings, {"CLAUDE_CODE_MAX_RETRIES": "0"}).start()
    yield running
    await running.stop()


def snapshot(host: RunningHost) -> tuple[dict[str, int], list[str]]:
    """Row counts of every table of the host's database, and every path in its data folder."""
    data_dir = host.settings.data_dir.resolve()
    with sqlite3.connect(data_dir / "host.db") as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        count = 'SELECT count(*) FROM "{}"'  # table names come from sqlite_master itself
        counts = {t: conn.execute(count.format(t)).fetchone()[0] for t in tables}
    conn.close()
    paths = sorted(
        str(p.relative_to(data_dir))
        for p in data_dir.rglob("*")
        if not p.name.startswith("host.db") and "/.git/" not in f"/{p.relative_to(data_dir)}"
    )
    return counts, paths


def _requests(host: RunningHost) -> list[tuple[str, str, Any]]:
    """(method, path, body) for every endpoint of the host's app but /health."""
    app = host.server.config.app
    found = []
    for route in app.routes:
        if not isinstance(route, APIRoute) or route.path == "/health":
            continue
        path = route.path.replace("{", "").replace("}", "")
        for method in route.methods:
            found.append((method, path, BODIES.get(route.path)))
    return found


async def test_every_endpoint_refuses_a_forged_token_and_writes_nothing(host: RunningHost) -> None:
    """Missing, wrong-scheme and almost-right tokens get 401 everywhere but /health."""
    before = snapshot(host)
    endpoints = _requests(host)
    assert len(endpoints) >= 11
    async with httpx.AsyncClient(base_url=host.url, timeout=10) as anonymous:
        for headers in FORGED:
            for method, path, body in endpoints:
                response = await anonymous.request(method, path, json=body, headers=headers)
                assert response.status_code == 401, (method, path, headers)
                assert response.headers["www-authenticate"] == "Bearer"
            health = await anonymous.get("/health", headers=headers)
            assert health.json() == {"state": "idle"}
    assert snapshot(host) == before
    assert (await host.client.get("/turns/t1")).status_code == 404


async def test_the_api_description_is_not_public(host: RunningHost) -> None:
    """Without the token the host shows no API description (only /health answers)."""
    async with httpx.AsyncClient(base_url=host.url, timeout=10) as anonymous:
        for path in ("/openapi.json", "/docs", "/redoc"):
            assert (await anonymous.get(path)).status_code in (401, 404), path


UNSAFE_NAMES = [
    "../x", "..%2Fx", "..", "../../../../tmp/evil", "/etc/passwd", "/tmp/x", "a\x00b",
    "x\x00/../../y", "a/b", "a\\..\\b", ".hidden", "", " ", "x.txt\n", "%2e%2e%2fx",
    "…/x", "C:\\x", "x" * 300,
]  # fmt: skip


async def test_path_like_attachment_names_get_400_and_write_nothing(host: RunningHost) -> None:
    """A turn whose attachment is named like a path is refused and leaves no file or turn."""
    before = snapshot(host)
    data = base64.b64encode(b"payload").decode()
    for name in UNSAFE_NAMES:
        media = [{"filename": name, "content_type": "text/plain", "data_b64": data}]
        turn = {"turn_id": "t1", "session": "main", "text": "x", "media": media}
        response = await host.client.post("/turns", json=turn)
        assert response.status_code == 400, name
    assert snapshot(host) == before


async def test_a_bad_attachment_after_a_good_one_leaves_neither(host: RunningHost) -> None:
    """A turn with a safe and then an unsafe attachment is refused as a whole: no file."""
    before = snapshot(host)
    data = base64.b64encode(b"payload").decode()
    media = [
        {"filename": "good.txt", "data_b64": data},
        {"filename": "../bad.txt", "data_b64": data},
    ]
    turn = {"turn_id": "t2", "session": "main", "text": "x", "media": media}
    assert (await host.client.post("/turns", json=turn)).status_code == 400
    assert snapshot(host) == before


async def test_a_path_like_turn_id_with_an_attachment_gets_400(host: RunningHost) -> None:
    """The turn id names a folder for attachments, so a path-like one is refused too."""
    before = snapshot(host)
    media = [{"filename": "ok.txt", "data_b64": base64.b64encode(b"x").decode()}]
    for turn_id in ("../../escape", "/tmp/escape", "..", "a/b", "x\x00y"):
        turn = {"turn_id": turn_id, "session": "main", "text": "x", "media": media}
        assert (await host.client.post("/turns", json=turn)).status_code == 400, turn_id
    assert snapshot(host) == before


async def test_a_declared_oversized_body_gets_413_before_it_is_read(host: RunningHost) -> None:
    """A Content-Length over the host's cap is refused at once, with or without the token."""
    before = snapshot(host)
    for auth in ("", f"\r\nAuthorization: Bearer {TOKEN}"):
        head = (
            f"POST /turns HTTP/1.1\r\nHost: host{auth}\r\nContent-Type: application/json"
            f"\r\nContent-Length: {MAX_BODY_BYTES + 1}"
        )
        assert await asyncio.to_thread(raw_request, host.url, head) == 413
    assert snapshot(host) == before


def test_a_chunked_body_past_the_cap_gets_413(
    tmp_path: Path, anthropic_fake: AnthropicFake
) -> None:
    """A chunked body (no Content-Length) is cut off with 413 once it passes the cap."""
    settings = host_settings(tmp_path / "host", anthropic_fake)
    app = create_host_app(settings, max_body_bytes=64 * 1024)
    text = "x" * (128 * 1024)
    body = json.dumps({"turn_id": "big", "session": "main", "text": text}).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    with serve(app) as url:
        response = httpx.post(f"{url}/turns", content=chunks(), headers=headers, timeout=30)
        small = {"turn_id": "small", "session": "main", "text": "hi"}
        assert (
            httpx.post(f"{url}/turns", json=small, headers=headers, timeout=30).status_code == 202
        )
        assert httpx.get(f"{url}/turns/big", headers=headers, timeout=30).status_code == 404
    assert "content-length" not in response.request.headers
    assert response.status_code == 413

"""What the relay shows the internet: security headers, /docs, /metrics and /healthz."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from cockpit.headers import MEDIA_POLICY, PAGE_POLICY
from cockpit.relay.runtime import Relay
from cockpit.relay.storing import keep_media
from cockpit.server import build_relay, create_app
from cockpit.store.migrate import upgrade
from tests.live import free_port, wait_until
from tests.relay.conftest import relay_settings

PASSWORD = "correct horse battery staple"


def _relay(tmp_path: Path, **overrides: object) -> Relay:
    url = f"sqlite:///{tmp_path / 'cockpit.db'}"
    upgrade(url)
    settings = relay_settings(url, tmp_path / "data", "http://testserver", "http://127.0.0.1:9",
                              admin_password=PASSWORD, **overrides)  # fmt: skip
    return build_relay(settings)


@pytest.fixture
async def relay(tmp_path: Path) -> AsyncIterator[Relay]:
    """A relay on a fresh SQLite file, with the admin pages on."""
    built = _relay(tmp_path)
    yield built
    built.db.dispose()


def _client(relay: Relay, *, production: bool = False) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(relay, production=production))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_pages_cannot_be_framed_or_sniffed_and_run_only_their_own_scripts(
    relay: Relay,
) -> None:
    """/admin and /full answer with a strict CSP, DENY framing, nosniff and no referrer."""
    async with _client(relay) as client:
        answers = [await client.get("/admin/login"), await client.get("/full/forged")]
        other = await client.get("/healthz")
    for answer in answers:
        assert answer.headers["content-security-policy"] == PAGE_POLICY
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in other.headers["content-security-policy"]
    assert other.headers["x-content-type-options"] == "nosniff"


async def test_media_that_arrived_as_html_cannot_run_script(relay: Relay) -> None:
    """A stored file of type text/html is served sandboxed, with nosniff: no script runs."""
    media_id = await keep_media(relay, b"<script>alert(1)</script>", "text/html", "x.html")
    async with _client(relay) as client:
        answer = await client.get(relay.media_url(media_id).removeprefix(relay.public_url))
    assert answer.status_code == 200 and answer.content == b"<script>alert(1)</script>"
    assert answer.headers["content-security-policy"] == MEDIA_POLICY
    assert "sandbox" in MEDIA_POLICY and "default-src 'none'" in MEDIA_POLICY
    assert answer.headers["x-content-type-options"] == "nosniff"


async def test_production_relay_hides_docs_and_metrics(relay: Relay) -> None:
    """`cockpit relay` serves no /docs, /redoc or /openapi.json, and no /metrics without a
    token; the local app (`cockpit up`) keeps them."""
    async with _client(relay, production=True) as client:
        hidden = [await client.get(p) for p in ("/docs", "/redoc", "/openapi.json", "/metrics")]
    async with _client(relay) as client:
        local = [await client.get(p) for p in ("/docs", "/openapi.json", "/metrics")]
    assert [a.status_code for a in hidden] == [404, 404, 404, 404]
    assert "COCKPIT_METRICS_TOKEN" in hidden[3].json()["detail"]
    assert [a.status_code for a in local] == [200, 200, 200]


async def test_metrics_with_a_token_need_it(tmp_path: Path) -> None:
    """With COCKPIT_METRICS_TOKEN, /metrics answers only `Bearer <token>` (else 401)."""
    relay = _relay(tmp_path, metrics_token="scrape-me-please")
    try:
        async with _client(relay, production=True) as client:
            none = await client.get("/metrics")
            wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
            right = await client.get(
                "/metrics", headers={"Authorization": "Bearer scrape-me-please"}
            )
    finally:
        relay.db.dispose()
    assert (none.status_code, wrong.status_code) == (401, 401)
    assert right.status_code == 200 and "cockpit_" in right.text


async def test_healthz_does_not_name_the_database_host(tmp_path: Path) -> None:
    """An unreachable PostgreSQL gives 503 "unavailable", not its host and port."""
    port = free_port()
    url = f"postgresql+psycopg://cockpit@127.0.0.1:{port}/cockpit?connect_timeout=2"
    settings = relay_settings(url, tmp_path / "data", "http://testserver", "http://127.0.0.1:9")
    relay = build_relay(settings)
    try:
        async with _client(relay) as client:
            answer = await client.get("/healthz")
    finally:
        relay.db.dispose()
    assert answer.status_code == 503
    assert answer.json() == {"status": "unhealthy", "database": "unavailable"}
    assert str(port) not in answer.text and "127.0.0.1" not in answer.text


@pytest.mark.slow
def test_cockpit_relay_serves_the_production_surface(tmp_path: Path) -> None:
    """The `cockpit relay` command itself hides /docs, /openapi.json and /metrics."""
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("COCKPIT_", "TWILIO_"))}
    env = clean | {
        "COCKPIT_PUBLIC_URL": f"http://127.0.0.1:{port}", "COCKPIT_SECRET_KEY": "k" * 32,
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "t" * 32,
        "TWILIO_WHATSAPP_FROM": "+14155238886", "COCKPIT_AGENT": "echo",
        "TWILIO_API_BASE_URL": "http://127.0.0.1:9",
    }  # fmt: skip
    upgrade(f"sqlite:///{tmp_path / '.cockpit' / 'cockpit.db'}")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cockpit", "relay", "--port", str(port)], cwd=tmp_path, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _status(f"{base}/healthz") == 200, timeout=60, interval=0.2)
        codes = [_status(f"{base}{p}") for p in ("/docs", "/openapi.json", "/metrics")]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert codes == [404, 404, 404]


def _status(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=5).status_code
    except httpx.TransportError:
        return None

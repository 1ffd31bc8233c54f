"""A damaged or locked SQLite file: nothing acknowledged that cannot be kept, and fast
answers Twilio can retry (issue 19, items 3 and 4)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from cockpit.core.messages import OutboundDraft
from cockpit.errors import StoreError
from cockpit.store import outbox
from cockpit.store.db import Database
from cockpit.store.migrate import upgrade
from tests.acceptance.test_cli import cockpit
from tests.hostile.conftest import params, signed_post
from tests.relay.conftest import ADA, Stack, running_stack

TWILIO_TIMEOUT = 15.0  # seconds Twilio waits for a webhook's answer


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    """A migrated SQLite database file with a few outbound rows."""
    path = tmp_path / "cockpit.db"
    upgrade(f"sqlite:///{path}")
    db = Database(f"sqlite:///{path}")
    drafts = [OutboundDraft(key=f"k{i}", to=ADA, body=f"old reply {i}") for i in range(3)]
    outbox.enqueue_now(db, drafts)
    db.dispose()
    return path


@pytest.fixture
def sqlite_stack(sqlite_file: Path, tmp_path: Path) -> Iterator[Stack]:
    """Relay (echo agent) + simulator on `sqlite_file`."""
    with running_stack(f"sqlite:///{sqlite_file}", tmp_path / "data") as running:
        yield running


def damage_outbox(path: Path) -> None:
    """Overwrite the root page of `outbound_messages` with garbage, as a bad disk would,
    then commit a write elsewhere so every open connection drops its cached pages."""
    with sqlite3.connect(path) as conn:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        (root,) = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'outbound_messages'"
        ).fetchone()
    with path.open("r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\xa5" * page_size)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE users SET name = name")


def test_a_damaged_file_answers_503_and_healthz_is_unhealthy(
    sqlite_stack: Stack, sqlite_file: Path
) -> None:
    """Once the file is damaged, /healthz says unhealthy and a signed webhook gets 503
    (Twilio keeps it), instead of 200 for a message nobody can handle."""
    assert signed_post(sqlite_stack, params("SMbefore")).status_code == 200
    damage_outbox(sqlite_file)
    health = httpx.get(f"{sqlite_stack.relay_url}/healthz", timeout=10)
    # the reason goes to the log only: /healthz shows no details (docs/security.md, 15)
    assert health.status_code == 503 and health.json()["database"] == "unavailable"
    assert signed_post(sqlite_stack, params("SMafter")).status_code == 503
    status = {"MessageSid": "SMx", "MessageStatus": "read"}
    assert signed_post(sqlite_stack, status, path="/twilio/status").status_code == 503


def test_the_relay_refuses_to_start_on_a_damaged_file(sqlite_file: Path, tmp_path: Path) -> None:
    """`cockpit relay` on a damaged SQLite file stops with one sentence, before serving."""
    damage_outbox(sqlite_file)
    result = cockpit(
        tmp_path, "relay", "--port", "9",
        COCKPIT_DATABASE_URL=f"sqlite:///{sqlite_file}", COCKPIT_PUBLIC_URL="https://relay.test",
        COCKPIT_SECRET_KEY="k" * 32, TWILIO_ACCOUNT_SID="AC" + "1" * 32,
        TWILIO_AUTH_TOKEN="t" * 32, TWILIO_WHATSAPP_FROM="+14155238886",
    )  # fmt: skip
    assert result.returncode == 2
    assert "damaged" in result.stderr and "Traceback" not in result.stderr
    with pytest.raises(StoreError, match="damaged"):
        Database(f"sqlite:///{sqlite_file}").check()


def test_a_locked_file_answers_fast_and_keeps_nothing_it_did_not_store(
    sqlite_stack: Stack, sqlite_file: Path
) -> None:
    """While another process holds SQLite's write lock, three webhooks at once are each
    answered 503 well within Twilio's timeout and /healthz answers; once the lock is gone
    Twilio's retry is stored."""
    holder = sqlite3.connect(sqlite_file, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with ThreadPoolExecutor(4) as pool:
            hooks = [
                pool.submit(signed_post, sqlite_stack, params(f"SMlocked{i}")) for i in range(3)
            ]
            health = pool.submit(
                httpx.get, f"{sqlite_stack.relay_url}/healthz", timeout=TWILIO_TIMEOUT
            )
            assert health.result().status_code == 200
            assert [h.result().status_code for h in hooks] == [503, 503, 503]
    finally:
        holder.rollback()
        holder.close()
    assert signed_post(sqlite_stack, params("SMlocked0")).status_code == 200
    sqlite_stack.wait_for("hello")

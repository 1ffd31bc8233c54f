"""PostgreSQL restarted (`pg_ctl restart -m fast`) while messages flow through a relay process.

The database is a private cluster (tests/relay/pgcluster.py), not the machine's shared
one. The test plays Twilio: it posts signed webhooks to the relay and, like Twilio with
retries turned on, posts the same MessageSid again when the relay answers 5xx or drops
the connection. The relay answers through the phone simulator.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy import text as sql
from twilio.request_validator import RequestValidator

from cockpit.channels.simulator import create_simulator_app
from cockpit.store import reports, users
from cockpit.store.db import Database
from cockpit.store.migrate import upgrade
from tests.live import bound_socket, free_port, serve, wait_until
from tests.relay.conftest import ACCOUNT_SID, ADA, AUTH_TOKEN, FROM, make_simulator
from tests.relay.pgcluster import PrivateCluster, private_cluster
from tests.relay.test_relay_killed import RelayProcess

pytestmark = pytest.mark.slow

MESSAGES, RESTART_AFTER = 30, 10


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    """A private PostgreSQL cluster, migrated, with Ada registered."""
    with private_cluster() as running:
        upgrade(running.url)
        database = Database(running.url)
        users.add_user(database, ADA, "Ada")
        database.dispose()
        yield running


def _started_at(url: str) -> object:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sql("SELECT pg_postmaster_start_time()")).scalar()
    finally:
        engine.dispose()


def _waiting_to_be_sent(database: Database) -> int:
    """Rows the relay still has to send. A status callback that met the restart got a 503,
    and Twilio does not send a callback again, so its row may stay `accepted`: Twilio
    took that message, which is what this test is about."""
    counts = reports.outbound_status_counts(database)
    return sum(counts.get(status, 0) for status in ("pending", "sending", "unknown", "held"))


class Twilio:
    """Posts one signed inbound webhook per message, again with the same sid until a 200."""

    def __init__(self, relay_url: str):
        self.url = f"{relay_url}/twilio/messages"
        self.validator = RequestValidator(AUTH_TOKEN)
        self.retries = 0

    def deliver(self, body: str) -> None:
        sid = "SM" + secrets.token_hex(16)
        params = {"MessageSid": sid, "SmsMessageSid": sid, "AccountSid": ACCOUNT_SID,
                  "From": f"whatsapp:{ADA}", "To": FROM, "Body": body, "NumMedia": "0"}  # fmt: skip
        headers = {"X-Twilio-Signature": self.validator.compute_signature(self.url, params)}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.post(self.url, data=params, headers=headers, timeout=10).is_success:
                    return
            except httpx.TransportError:
                pass
            self.retries += 1
            time.sleep(0.2)
        raise AssertionError(f"the relay never took {body!r}")


def test_a_postgres_restart_mid_run_loses_nothing_and_sends_nothing_twice(
    cluster: PrivateCluster, tmp_path: Path
) -> None:
    """Every message is answered exactly once and in order across the restart, the relay
    carries on by itself, and no request meets an unhandled error."""
    port, sim_sock = free_port(), bound_socket()
    relay_url = f"http://127.0.0.1:{port}"
    sim = make_simulator(relay_url)
    env = dict(os.environ) | {
        "COCKPIT_DATABASE_URL": cluster.url, "COCKPIT_DATA_DIR": str(tmp_path / "data"),
        "COCKPIT_PUBLIC_URL": relay_url, "COCKPIT_SECRET_KEY": "test-secret",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_WHATSAPP_FROM": FROM, "COCKPIT_AGENT": "echo", "COCKPIT_POLL_SECONDS": "0.1",
        "COCKPIT_RETRY_BASE_SECONDS": "0.05", "COCKPIT_SEND_LEASE_SECONDS": "5",
        "TWILIO_API_BASE_URL": f"http://127.0.0.1:{sim_sock.getsockname()[1]}",
    }  # fmt: skip
    relay = RelayProcess(env, port, tmp_path / "relay.log")
    before = _started_at(cluster.url)
    twilio = Twilio(relay_url)
    with serve(create_simulator_app(sim), sim_sock):
        relay.start()
        try:
            restart = threading.Thread(target=cluster.restart)
            for i in range(MESSAGES):
                if i == RESTART_AFTER:
                    restart.start()  # the messages keep coming while the server restarts
                twilio.deliver(f"message {i}")
            restart.join(timeout=60)

            def phone() -> list[str]:
                return [m.body for m in sim.messages(ADA) if m.direction != "inbound"]

            wait_until(lambda: len(phone()) >= MESSAGES, timeout=60)
            database = Database(cluster.url)
            try:
                wait_until(lambda: _waiting_to_be_sent(database) == 0, timeout=30)
                time.sleep(1.0)  # room for a second copy
            finally:
                database.dispose()
            assert phone() == [f"message {i}" for i in range(MESSAGES)]
        finally:
            relay.stop()
            sim.release()
    assert _started_at(cluster.url) != before  # the server really restarted mid-run
    # Requests that met the restart were refused with a 503, never an unhandled crash.
    assert "Exception in ASGI application" not in (tmp_path / "relay.log").read_text()

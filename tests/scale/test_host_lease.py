"""Two relay processes on one PostgreSQL and one user's host: one relay follows the host's
events at a time, and when it is killed the other takes over within one lease.

Relay A starts first and provisions Ada's local host; relay B starts once A holds the
host's lease and adopts the same host (decision 0006). The phone simulator posts to B,
so the phone keeps working when A dies.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from cockpit.channels.simulator import create_simulator_app
from cockpit.store import hosts, users
from cockpit.store.db import Database
from tests.fakes.anthropic import AnthropicFake, say
from tests.live import bound_socket, free_port, serve, wait_until
from tests.relay.conftest import ACCOUNT_SID, ADA, AUTH_TOKEN, FROM, host_answers, make_simulator
from tests.relay.test_relay_killed import RelayProcess
from tests.requirements import require_claude_cli

pytestmark = [pytest.mark.postgres, pytest.mark.claude, pytest.mark.slow]


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_one_relay_follows_a_host_and_the_other_takes_over_when_it_dies(
    db_url: str, tmp_path: Path, anthropic_fake: AnthropicFake
) -> None:
    """The first answer comes through relay A, which holds the lease; after A is SIGKILLed
    relay B takes the lease and the second answer arrives, each message once, in order."""
    require_claude_cli()
    db = Database(db_url)
    ada = users.add_user(db, ADA, "Ada")
    ports, sim_sock = [free_port(), free_port()], bound_socket()
    public = f"http://127.0.0.1:{ports[1]}"  # relay B answers Twilio
    sim = make_simulator(public)
    env = dict(os.environ) | {
        "COCKPIT_DATABASE_URL": db_url, "COCKPIT_DATA_DIR": str(tmp_path / "data"),
        "COCKPIT_PUBLIC_URL": public, "COCKPIT_SECRET_KEY": "test-secret",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_WHATSAPP_FROM": FROM, "COCKPIT_AGENT": "claude", "ANTHROPIC_API_KEY": "sk-test",
        "ANTHROPIC_BASE_URL": anthropic_fake.url, "COCKPIT_CLAUDE_MAX_RETRIES": "0",
        "COCKPIT_HOST_LEASE_SECONDS": "4", "COCKPIT_POLL_SECONDS": "0.1",
        "TWILIO_API_BASE_URL": f"http://127.0.0.1:{sim_sock.getsockname()[1]}",
    }  # fmt: skip
    relay_a, relay_b = (
        RelayProcess(env, p, tmp_path / f"relay{n}.log") for n, p in enumerate(ports)
    )

    def phone() -> list[str]:
        return [m.body for m in sim.messages(ADA) if m.direction != "inbound"]

    def send(text: str) -> None:
        sent = httpx.post(f"{sim_url}/phone/api/send", json={"from": ADA, "body": text}, timeout=10)
        assert sent.json()["relay_status"] == 200

    sim_url = env["TWILIO_API_BASE_URL"]
    with serve(create_simulator_app(sim), sim_sock):
        try:
            relay_a.start()
            wait_until(
                lambda: host_answers(tmp_path / "data" / "hosts" / "15551230001"), timeout=90
            )
            wait_until(lambda: hosts.lease_owner(db, ada.id) is not None, timeout=30)
            first_owner = hosts.lease_owner(db, ada.id)
            relay_b.start()
            anthropic_fake.script([say("First answer.")])
            send("first")
            wait_until(lambda: len(phone()) >= 1, timeout=60)
            assert hosts.lease_owner(db, ada.id) == first_owner  # B never took it while A lived
            relay_a.kill()
            anthropic_fake.script([say("Second answer.")])
            send("second")
            wait_until(lambda: len(phone()) >= 2, timeout=60)
            wait_until(lambda: hosts.lease_owner(db, ada.id) not in (None, first_owner))
            bodies = phone()
        finally:
            relay_a.stop()
            relay_b.stop()
            sim.release()
            db.dispose()
    # typing… instead of "👀 on it"; each answer carries its ✅ line (docs/phone.md)
    assert bodies[0].startswith("First answer.\n\n✅ Done · ")
    assert bodies[1].startswith("Second answer.\n\n✅ Done · ")
    assert len(bodies) == 2

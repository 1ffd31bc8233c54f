"""A relay and a phone simulator, each a real HTTP server on loopback, wired together."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from cockpit.channels.simulator import PhoneSimulator, SimMessage, create_simulator_app
from cockpit.config import Settings, load_settings
from cockpit.relay.app import build_relay, create_relay_app
from cockpit.store import users
from cockpit.store.db import Database
from tests.live import bound_socket, serve, wait_until

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "simulated-auth-token-000000000000"
FROM = "whatsapp:+14155238886"
ADA = "+15551230001"


def relay_settings(db_url: str, data_dir: Path, relay_url: str, sim_url: str) -> Settings:
    """Settings of a relay that talks to the simulator at `sim_url`, with quick retries."""
    return load_settings(
        database_url=db_url,
        data_dir=data_dir,
        public_url=relay_url,
        secret_key="test-secret-key",
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_whatsapp_from=FROM,
        twilio_api_base_url=sim_url,
        retry_base_seconds=0.05,
        retry_max_seconds=0.5,
        send_timeout_seconds=2.0,
        send_lease_seconds=2.0,
        order_timeout_seconds=2.0,
        poll_seconds=0.1,
    )


@dataclass
class Stack:
    sim: PhoneSimulator
    sim_url: str
    relay_url: str
    db: Database
    settings: Settings

    def send(self, body: str, sender: str = ADA, **extra: Any) -> dict[str, Any]:
        """Send `body` from a simulated phone, as a person would on the /phone page."""
        payload = {"from": sender, "body": body, **extra}
        response = httpx.post(f"{self.sim_url}/phone/api/send", json=payload, timeout=10)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def received(self, number: str = ADA) -> list[SimMessage]:
        """What the phone has received from the relay so far, in order."""
        return [m for m in self.sim.messages(number) if m.direction != "inbound"]

    def wait_received(self, count: int, number: str = ADA, timeout: float = 15) -> list[SimMessage]:
        """Wait until the phone has `count` messages from the relay; fail if more arrive."""
        wait_until(lambda: len(self.received(number)) >= count, timeout=timeout)
        return self.received(number)


def make_simulator(relay_url: str) -> PhoneSimulator:
    """A simulator that posts webhooks to the relay at `relay_url`."""
    return PhoneSimulator(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        whatsapp_from=FROM,
        webhook_url=f"{relay_url}/twilio/messages",
        callback_delay=0.02,
    )


@pytest.fixture
def stack(db_url: str, tmp_path: Path) -> Iterator[Stack]:
    """Relay (echo agent) + simulator on loopback, with Ada registered."""
    relay_sock, sim_sock = bound_socket(), bound_socket()
    relay_url = f"http://127.0.0.1:{relay_sock.getsockname()[1]}"
    sim_url = f"http://127.0.0.1:{sim_sock.getsockname()[1]}"
    settings = relay_settings(db_url, tmp_path / "data", relay_url, sim_url)
    relay = build_relay(settings)
    users.add_user(relay.db, ADA, "Ada")
    sim = make_simulator(relay_url)
    with serve(create_simulator_app(sim), sim_sock), serve(create_relay_app(relay), relay_sock):
        yield Stack(sim, sim_url, relay_url, relay.db, settings)

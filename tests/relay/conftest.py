"""A relay and a phone simulator, each a real HTTP server on loopback, wired together."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from cockpit.channels.simulator import PhoneSimulator, SimMessage, create_simulator_app
from cockpit.config import Settings, load_settings
from cockpit.relay.runtime import Relay
from cockpit.server import build_relay, create_app
from cockpit.store import users
from cockpit.store.db import Database
from cockpit.store.migrate import upgrade
from tests.fakes.anthropic import AnthropicFake
from tests.live import bound_socket, serve, wait_until
from tests.requirements import require_claude_cli

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "simulated-auth-token-000000000000"
FROM = "whatsapp:+14155238886"
ADA = "+15551230001"


def relay_settings(
    db_url: str, data_dir: Path, relay_url: str, sim_url: str, **overrides: Any
) -> Settings:
    """Settings of a relay that talks to the simulator at `sim_url`, with quick retries."""
    defaults: dict[str, Any] = dict(
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
        agent="echo",
    )
    return load_settings(**(defaults | overrides))


@dataclass
class Stack:
    sim: PhoneSimulator
    sim_url: str
    relay_url: str
    db: Database
    settings: Settings
    relay: Relay | None = None

    def send(self, body: str, sender: str = ADA, **extra: Any) -> dict[str, Any]:
        """Send `body` from a simulated phone, as a person would on the /phone page."""
        payload = {"from": sender, "body": body, **extra}
        response = httpx.post(f"{self.sim_url}/phone/api/send", json=payload, timeout=10)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def tap(self, title: str, number: str = ADA) -> dict[str, Any]:
        """Tap the button (or list item) `title` under the newest message that has it."""
        shown = [m for m in self.received(number) if any(b["title"] == title for b in m.buttons)]
        assert shown, f"no message with a {title!r} button"
        button = next(b for b in shown[-1].buttons if b["title"] == title)
        return self.tap_id(shown[-1].sid, button["id"], number)

    def tap_id(self, sid: str, button_id: str, number: str = ADA) -> dict[str, Any]:
        """Tap the button `button_id` of message `sid`, as a person would on the page."""
        payload = {"from": number, "sid": sid, "id": button_id}
        response = httpx.post(f"{self.sim_url}/phone/api/tap", json=payload, timeout=10)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def received(self, number: str = ADA) -> list[SimMessage]:
        """What the phone has received from the relay so far, in order."""
        return [m for m in self.sim.messages(number) if m.direction != "inbound"]

    def wait_received(self, count: int, number: str = ADA, timeout: float = 15) -> list[SimMessage]:
        """Wait until the phone has `count` messages from the relay."""
        wait_until(lambda: len(self.received(number)) >= count, timeout=timeout)
        return self.received(number)

    def bodies(self, number: str = ADA) -> list[str]:
        """The texts the phone has received, in order."""
        return [m.body for m in self.received(number)]

    def wait_for(self, text: str, number: str = ADA, timeout: float = 30) -> list[str]:
        """Wait until a received message contains `text`; all bodies so far."""
        wait_until(lambda: any(text in b for b in self.bodies(number)), timeout=timeout)
        return self.bodies(number)


def make_simulator(relay_url: str) -> PhoneSimulator:
    """A simulator that posts webhooks to the relay at `relay_url`."""
    return PhoneSimulator(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        whatsapp_from=FROM,
        webhook_url=f"{relay_url}/twilio/messages",
        callback_delay=0.02,
    )


@contextmanager
def running_stack(db_url: str, data_dir: Path, **overrides: Any) -> Iterator[Stack]:
    """Relay + simulator on loopback with Ada registered, until the block ends."""
    relay_sock, sim_sock = bound_socket(), bound_socket()
    relay_url = f"http://127.0.0.1:{relay_sock.getsockname()[1]}"
    sim_url = f"http://127.0.0.1:{sim_sock.getsockname()[1]}"
    settings = relay_settings(db_url, data_dir, relay_url, sim_url, **overrides)
    relay = build_relay(settings)
    if users.find_by_phone(relay.db, ADA) is None:
        users.add_user(relay.db, ADA, "Ada")
    sim = make_simulator(relay_url)
    with serve(create_simulator_app(sim), sim_sock), serve(create_app(relay), relay_sock):
        yield Stack(sim, sim_url, relay_url, relay.db, settings, relay)


@pytest.fixture
def stack(db_url: str, tmp_path: Path) -> Iterator[Stack]:
    """Relay (echo agent) + simulator on loopback, with Ada registered."""
    with running_stack(db_url, tmp_path / "data") as running:
        yield running


def claude_overrides(fake: AnthropicFake) -> dict[str, Any]:
    """Settings that make hosts run the real Claude Code against the Anthropic stand-in."""
    return {
        "agent": "claude", "anthropic_api_key": "sk-test", "anthropic_base_url": fake.url,
        "claude_max_retries": 0, "host_grace_seconds": 1.0,
    }  # fmt: skip


@pytest.fixture
def claude_db(tmp_path: Path) -> str:
    """A migrated SQLite database for the Claude end-to-end tests."""
    url = f"sqlite:///{tmp_path / 'cockpit.db'}"
    upgrade(url)
    return url


# The thread as it was before typing… and joined answers (docs/phone.md): "👀 on it", then
# each reply on its own. Modules whose assertions are about something else (faults,
# sessions, stuck turns) pin it by overriding the `thread` fixture with this.
CLASSIC_THREAD: dict[str, Any] = {"typing_indicator": False, "merge_seconds": 0.0}


@pytest.fixture
def thread() -> dict[str, Any]:
    """Settings of the thread's shape; the product's defaults unless a module overrides."""
    return {}


@pytest.fixture
def claude_stack(
    claude_db: str, tmp_path: Path, anthropic_fake: AnthropicFake, thread: dict[str, Any]
) -> Iterator[Stack]:
    """The stack with the Claude agent: a local host runs the real CLI for Ada."""
    require_claude_cli()
    overrides = claude_overrides(anthropic_fake) | thread
    with running_stack(claude_db, tmp_path / "data", **overrides) as s:
        wait_until(lambda: host_answers(tmp_path / "data" / "hosts" / "15551230001"), timeout=90)
        yield s


def host_answers(host_dir: Path) -> bool:
    """Whether the local host recorded in `host_dir` is up and answering."""
    try:
        port = json.loads((host_dir / "host.pid").read_text())["port"]
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
    except (OSError, ValueError, KeyError, httpx.HTTPError):
        return False

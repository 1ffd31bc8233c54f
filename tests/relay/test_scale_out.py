"""Several relays on one database: each inbound message is handled by one of them."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import pytest

from cockpit.channels.simulator import create_simulator_app
from cockpit.core.messages import OutboundDraft
from cockpit.relay.agents import EchoAgent
from cockpit.relay.runtime import Relay
from cockpit.server import build_relay, create_app
from cockpit.store import users
from cockpit.store.inbox import InboundRecord
from tests.live import bound_socket, serve, wait_until
from tests.relay.conftest import ADA, Stack, make_simulator, relay_settings

BOB = "+15551230002"


class CountingAgent:
    """Echoes, after a pause that leaves other relays time to grab the same message,
    and notes which relay ran which message (the side effect a command would have)."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, str]] = []
        self.echo = EchoAgent()

    async def handle(self, relay: Relay, record: InboundRecord) -> list[OutboundDraft]:
        self.runs.append((relay.worker_id, record.message.sid))  # list.append is thread-safe
        await asyncio.sleep(0.2)
        return await self.echo.handle(relay, record)


@pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_two_relays_run_each_message_once_in_order(db_url: str, tmp_path: Path) -> None:
    """With two relays draining one PostgreSQL inbox, every message runs once and each
    phone gets its answers once, in the order it wrote."""
    socks = [bound_socket() for _ in range(3)]
    url_a, url_b, sim_url = (f"http://127.0.0.1:{s.getsockname()[1]}" for s in socks)
    relays = [
        build_relay(relay_settings(db_url, tmp_path / name, url, sim_url))
        for name, url in (("a", url_a), ("b", url_b))
    ]
    users.add_user(relays[0].db, ADA, "Ada")
    users.add_user(relays[0].db, BOB, "Bob")
    agent = CountingAgent()
    sim = make_simulator(url_a)  # the balancer sends every webhook to relay A
    with (
        serve(create_simulator_app(sim), socks[2]),
        serve(create_app(relays[0], agent=agent), socks[0]),
        serve(create_app(relays[1], agent=agent), socks[1]),
    ):
        stack = Stack(sim, sim_url, url_a, relays[0].db, relays[0].settings, relays[0])
        for i in range(3):
            stack.send(f"ada {i}")
            stack.send(f"bob {i}", sender=BOB)
        wait_until(lambda: len(stack.received()) + len(stack.received(BOB)) >= 6, timeout=20)
        time.sleep(0.6)  # room for a second run of any message to show up
    assert sorted(Counter(sid for _, sid in agent.runs).values()) == [1] * 6
    assert stack.bodies() == ["ada 0", "ada 1", "ada 2"]
    assert stack.bodies(BOB) == ["bob 0", "bob 1", "bob 2"]


class StuckAgent:
    """Never finishes a message: stands for a relay stopped in the middle of one."""

    def __init__(self) -> None:
        self.started: list[str] = []

    async def handle(self, relay: Relay, record: InboundRecord) -> list[OutboundDraft]:
        self.started.append(record.message.sid)
        await asyncio.Event().wait()
        return []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the database adds nothing
def test_a_relay_stopped_mid_message_hands_it_over_at_once(db_url: str, tmp_path: Path) -> None:
    """A relay stopped while handling a message gives up its claim, so another relay
    answers it without waiting out the lease."""
    socks = [bound_socket() for _ in range(3)]
    url_a, url_b, sim_url = (f"http://127.0.0.1:{s.getsockname()[1]}" for s in socks)
    settings_a = relay_settings(db_url, tmp_path / "a", url_a, sim_url)
    relay_a = build_relay(settings_a)
    users.add_user(relay_a.db, ADA, "Ada")
    stuck = StuckAgent()
    sim = make_simulator(url_a)
    with serve(create_simulator_app(sim), socks[2]):
        stack = Stack(sim, sim_url, url_a, relay_a.db, settings_a, relay_a)
        with serve(create_app(relay_a, agent=stuck), socks[0]):
            stack.send("still there?")
            wait_until(lambda: stuck.started)
        relay_b = build_relay(relay_settings(db_url, tmp_path / "b", url_b, sim_url))
        with serve(create_app(relay_b), socks[1]):  # lease 300 s: only a release helps
            assert stack.wait_for("still there?", timeout=10) == ["still there?"]

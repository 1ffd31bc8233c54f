"""Three relay processes on one PostgreSQL behind a load balancer, one killed with SIGKILL
under load: every message is answered exactly once, and each user's answers come in order.

Twilio's two roles are played as in production: the test posts its webhooks (signed with
the `twilio` library's RequestValidator against the one public address) to the relays in
turn, skipping a relay that does not answer, as a load balancer in front of them would;
and the relays send their answers through the phone simulator's Messages API. The public
address is relay 0's, which is never killed: the status callbacks all land there.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import os
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text as sql
from twilio.request_validator import RequestValidator

from cockpit.channels.simulator import PhoneSimulator, create_simulator_app
from cockpit.store import inbox, outbox, users
from cockpit.store.db import Database
from cockpit.store.outbox import OutboundRecord
from tests.live import bound_socket, free_port, serve, wait_until
from tests.relay.conftest import ACCOUNT_SID, AUTH_TOKEN, FROM, make_simulator, settled
from tests.relay.test_relay_killed import RelayProcess

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

RELAYS, USERS, PER_USER = 3, 50, 20
LEASE_SECONDS = 20.0  # how long a dead relay's claimed sends and messages wait for another


def phone(user: int) -> str:
    """The number of simulated user `user`."""
    return f"+1555030{user:04d}"


def text(user: int, n: int) -> str:
    """The `n`-th message of `user`: unique, so its echo can be told apart."""
    return f"u{user} m{n}"


@dataclass
class Cluster:
    relays: list[RelayProcess]
    sim: PhoneSimulator
    db: Database


def _relay_env(db_url: str, tmp_path: Path, public_url: str, sim_url: str) -> dict[str, str]:
    """One environment for every relay: the same database and the same public address."""
    return dict(os.environ) | {
        "COCKPIT_DATABASE_URL": db_url, "COCKPIT_DATA_DIR": str(tmp_path / "data"),
        "COCKPIT_PUBLIC_URL": public_url, "COCKPIT_SECRET_KEY": "test-secret",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_WHATSAPP_FROM": FROM, "TWILIO_API_BASE_URL": sim_url,
        "COCKPIT_AGENT": "echo", "COCKPIT_SEND_LEASE_SECONDS": str(LEASE_SECONDS),
        "COCKPIT_INBOX_LEASE_SECONDS": str(LEASE_SECONDS),
        # The lease must outlast a send, or a slow send could be taken over and sent twice.
        # Generous on purpose: a send that times out after Twilio took it is sent twice
        # today (see test_send_outcome.py); this test is about relays dying, not timeouts.
        "COCKPIT_SEND_TIMEOUT_SECONDS": str(LEASE_SECONDS / 2),
        "COCKPIT_POLL_SECONDS": "0.2", "COCKPIT_RETRY_BASE_SECONDS": "0.1",
        "COCKPIT_RETRY_MAX_SECONDS": "2", "COCKPIT_SEND_MAX_ATTEMPTS": "30",
    }  # fmt: skip


@pytest.fixture
def cluster(db_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """Three `cockpit relay` processes on one database, and the simulator they send through."""
    database = Database(db_url)
    for user in range(USERS):
        users.add_user(database, phone(user), f"User {user}")
    sim_sock = bound_socket()
    sim_url = f"http://127.0.0.1:{sim_sock.getsockname()[1]}"
    ports = [free_port() for _ in range(RELAYS)]
    public_url = f"http://127.0.0.1:{ports[0]}"
    sim = make_simulator(public_url)
    env = _relay_env(db_url, tmp_path, public_url, sim_url)
    relays = [RelayProcess(env, p, tmp_path / f"relay{n}.log") for n, p in enumerate(ports)]
    with serve(create_simulator_app(sim), sim_sock):
        try:
            for relay in relays:
                relay.start()
            yield Cluster(relays, sim, database)
        finally:
            for relay in relays:
                relay.stop()
            sim.release()
            database.dispose()


class Twilio:
    """Posts inbound-message webhooks as Twilio does through a round-robin load balancer:
    form-encoded, signed for the public address, each to the next relay that answers."""

    def __init__(self, public_url: str, relays: list[RelayProcess]):
        self.public = f"{public_url}/twilio/messages"
        self.relays = [f"http://127.0.0.1:{r.port}/twilio/messages" for r in relays]
        self.validator = RequestValidator(AUTH_TOKEN)
        self.turn = itertools.count()
        self.answered: Counter[int] = Counter()  # relay index -> webhooks it answered
        self.failovers = 0

    def webhook(self, user: int, body: str) -> tuple[dict[str, str], dict[str, str]]:
        """The parameters and headers of one new message from `user`."""
        sid = "SM" + secrets.token_hex(16)
        params = {
            "MessageSid": sid, "SmsMessageSid": sid, "AccountSid": ACCOUNT_SID,
            "From": f"whatsapp:{phone(user)}", "To": FROM, "Body": body, "NumMedia": "0",
            "WaId": phone(user).lstrip("+"), "ProfileName": f"User {user}",
        }  # fmt: skip
        return params, {"X-Twilio-Signature": self.validator.compute_signature(self.public, params)}

    async def post(self, client: httpx.AsyncClient, user: int, body: str) -> int:
        """Deliver one message; a relay that refuses or drops the connection is skipped
        (safe: a relay stores a message once per MessageSid). Returns the HTTP status."""
        params, headers = self.webhook(user, body)
        start = next(self.turn)
        for i in range(len(self.relays)):
            index = (start + i) % len(self.relays)
            try:
                reply = await client.post(self.relays[index], data=params, headers=headers)
            except httpx.TransportError:
                self.failovers += 1
                continue
            self.answered[index] += 1
            return reply.status_code
        return 502


def _sends_held_by(db: Database, worker: str) -> list[int]:
    """Outbox rows that relay `worker` has claimed and is sending right now."""
    query = sql("SELECT id FROM outbound_messages WHERE claimed_by = :w AND status = 'sending'")
    with db.engine.connect() as conn:
        return [row[0] for row in conn.execute(query, {"w": worker})]


def kill_mid_send(cluster: Cluster, victim: RelayProcess) -> list[int]:
    """SIGKILL `victim` while it holds a send that Twilio has not taken (the simulator
    holds the next create requests); returns the outbox rows it held."""
    worker = httpx.get(f"http://127.0.0.1:{victim.port}/healthz").json()["worker"]
    faults = cluster.sim.faults
    faults.hang_seconds, faults.hang_next = 60, 30
    held = wait_until(lambda: _sends_held_by(cluster.db, worker), timeout=60, interval=0.01)
    victim.kill()
    faults.hang_next = 0
    cluster.sim.release()  # the held creates answer 503: nothing was created for them
    return list(held)


async def _send_everything(
    twilio: Twilio, kill_after: int, kill: Callable[[], list[int]]
) -> tuple[list[int], list[int]]:
    """All users at once, each sending their messages one after another; `kill` runs once
    `kill_after` webhooks were answered. Returns the webhook statuses and what `kill` did."""
    statuses: list[int] = []
    held: list[int] = []

    async def one_user(client: httpx.AsyncClient, user: int) -> None:
        for n in range(PER_USER):
            statuses.append(await twilio.post(client, user, text(user, n)))
            if len(statuses) == kill_after:
                held.extend(await asyncio.to_thread(kill))

    async with httpx.AsyncClient(timeout=60) as client:
        await asyncio.gather(*(one_user(client, user) for user in range(USERS)))
    return statuses, held


def _answers(sim: PhoneSimulator, user: int) -> list[str]:
    return [m.body for m in sim.messages(phone(user)) if m.direction != "inbound"]


def _answered(sim: PhoneSimulator) -> int:
    return sum(1 for m in sim.messages() if m.direction != "inbound")


def _rows(db: Database, ids: list[int]) -> list[OutboundRecord]:
    wanted = set(ids)
    return [r for u in range(USERS) for r in outbox.for_recipient(db, phone(u)) if r.id in wanted]


def _story(cluster: Cluster, user: int) -> str:
    """What happened to `user`'s answers: outbox rows and Messages API calls, for a failure."""
    rows = [
        (r.id, r.body, r.status, r.attempts, r.provider_sid, str(r.created_at.time()))
        for r in outbox.for_recipient(cluster.db, phone(user))
    ]
    calls = [
        (a.body, a.status, a.sid, a.fault, round(a.at, 2))
        for a in cluster.sim.attempts
        if a.to and phone(user) in a.to
    ]
    return f"outbox rows {rows}\nMessages API calls {calls}"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_relay_killed_under_load_loses_and_repeats_nothing(cluster: Cluster) -> None:
    """1,000 messages from 50 users over 3 relays, one SIGKILLed midway: each answered
    exactly once, and every user's answers arrive in the order of their messages."""
    total, victim = USERS * PER_USER, cluster.relays[1]
    started = time.monotonic()
    twilio = Twilio(f"http://127.0.0.1:{cluster.relays[0].port}", cluster.relays)
    kill = functools.partial(kill_mid_send, cluster, victim)
    statuses, held = asyncio.run(_send_everything(twilio, total // 2, kill))
    acked = time.monotonic()
    wait_until(lambda: _answered(cluster.sim) >= total, timeout=180)
    wait_until(lambda: settled(cluster.db), timeout=30)  # a second copy would be sent by now
    answered = time.monotonic()
    assert Counter(statuses) == {200: total}
    assert victim.proc is not None and victim.proc.returncode == -9
    assert inbox.count(cluster.db) == total
    for user in range(USERS):
        expected = [text(user, n) for n in range(PER_USER)]
        assert _answers(cluster.sim, user) == expected, _story(cluster, user)
    assert len(twilio.answered) == RELAYS  # each relay took its share before the kill
    held_rows = _rows(cluster.db, held)  # sends the relay had claimed when it died
    assert held_rows and {r.status for r in held_rows} <= {"sent", "delivered", "read"}
    print(
        f"\n{total} webhooks acknowledged in {acked - started:.1f}s, all answered after "
        f"{answered - started:.1f}s; Messages API create calls "
        f"{len(cluster.sim.attempts)}; webhooks per relay {dict(twilio.answered)}, "
        f"failovers {twilio.failovers}; (row, attempts) the dead relay held "
        f"{[(r.id, r.attempts) for r in held_rows]}"
    )

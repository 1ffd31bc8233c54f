"""Three relay processes on one PostgreSQL, the phone simulator, a load balancer for the
status callbacks, and ways to kill a relay at a chosen moment.

Shared by tests/scale/test_takeover.py and bench/takeover.py's figures.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text as sql
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from cockpit.channels.simulator import PhoneSimulator, create_simulator_app
from cockpit.store import users
from cockpit.store.db import Database
from cockpit.store.migrate import upgrade
from tests.live import bound_socket, free_port, serve, wait_until
from tests.relay.conftest import ACCOUNT_SID, AUTH_TOKEN, FROM, make_simulator
from tests.relay.pgcluster import PrivateCluster
from tests.relay.test_relay_killed import RelayProcess


def phone(user: int) -> str:
    """The number of simulated user `user`."""
    return f"+1555040{user:04d}"


def text(user: int, n: int) -> str:
    """The `n`-th message of `user`: unique, so its echo can be told apart."""
    return f"u{user} m{n}"


class Balancer:
    """The load balancer in front of the relays, for what Twilio posts to the public address
    (status callbacks): each request to the next relay, skipping one that refuses the
    connection; a relay that drops a request mid-way gets the caller a 502, as an nginx
    without `non_idempotent` retries would. `GET /in-hand` lists, per relay, the requests it
    has in hand. Run in a process of its own (`python -m tests.scale.harness PORT RELAY...`),
    so that it does not compete with the simulator for the test process's one interpreter."""

    def __init__(self, ports: list[int]):
        self.ports = ports
        self.turn = itertools.count()
        self.in_hand: dict[int, set[str]] = {i: set() for i in range(len(ports))}
        self.client = httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200))
        self.app = Starlette(routes=[
            Route("/in-hand", self.listing, methods=["GET"]),
            Route("/{path:path}", self.forward, methods=["POST"]),
        ])  # fmt: skip

    async def listing(self, request: Request) -> Response:
        return JSONResponse({str(i): sorted(t) for i, t in self.in_hand.items()})

    async def forward(self, request: Request) -> Response:
        body = await request.body()
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        start = next(self.turn)
        for i in range(len(self.ports)):
            index = (start + i) % len(self.ports)
            url = f"http://127.0.0.1:{self.ports[index]}{request.url.path}?{request.url.query}"
            ticket = f"{request.url.query}#{secrets.token_hex(4)}"
            self.in_hand[index].add(ticket)
            try:
                reply = await self.client.post(url, content=body, headers=headers)
            except httpx.ConnectError:
                continue  # nothing reached that relay: the next one may take it
            except httpx.TransportError:
                return Response(status_code=502)
            finally:
                self.in_hand[index].discard(ticket)
            return Response(reply.content, status_code=reply.status_code)
        return Response(status_code=502)


@contextmanager
def balancer_process(port: int, relay_ports: list[int], log: Path) -> Iterator[str]:
    """The balancer in a child process on `port`; yields its base URL."""
    url = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "tests.scale.harness", str(port), *map(str, relay_ports)]
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ) | {"PYTHONPATH": str(root)}
    with log.open("ab") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=root, env=env)
    try:
        wait_until(lambda: _answers(f"{url}/in-hand"), timeout=60)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.TransportError:
        return False


class Twilio:
    """Posts inbound-message webhooks as Twilio does with `#rc=5&rp=all` behind a round-robin
    balancer: signed for the public address, to the next relay that answers; a 5xx or a
    dropped connection is tried again with the same MessageSid, up to five more times."""

    def __init__(self, public_url: str, ports: list[int]):
        self.public = f"{public_url}/twilio/messages"
        self.relays = [f"http://127.0.0.1:{p}/twilio/messages" for p in ports]
        self.validator = RequestValidator(AUTH_TOKEN)
        self.turn = itertools.count()
        self.statuses: Counter[int] = Counter()  # every answer, retries included
        self.retries = 0
        self.last_sent = datetime.now(UTC)

    async def post(self, client: httpx.AsyncClient, user: int, body: str) -> int:
        """Deliver one message; the final HTTP status."""
        sid = "SM" + secrets.token_hex(16)
        params = {
            "MessageSid": sid, "SmsMessageSid": sid, "AccountSid": ACCOUNT_SID,
            "From": f"whatsapp:{phone(user)}", "To": FROM, "Body": body, "NumMedia": "0",
        }  # fmt: skip
        headers = {"X-Twilio-Signature": self.validator.compute_signature(self.public, params)}
        status = 502
        for attempt in range(6):
            start = next(self.turn)
            for i in range(len(self.relays)):
                url = self.relays[(start + i) % len(self.relays)]
                try:
                    status = (await client.post(url, data=params, headers=headers)).status_code
                    break
                except httpx.ConnectError:
                    continue
                except httpx.TransportError:
                    status = 502
                    break
            self.statuses[status] += 1
            if status < 500:
                break
            self.retries += 1
            await asyncio.sleep(0.5 * 2**attempt)  # Twilio's backoff before it posts again
        self.last_sent = datetime.now(UTC)  # when the last message was finally taken
        return status


@dataclass
class Cluster:
    pg: PrivateCluster
    db: Database
    relays: list[RelayProcess]
    sim: PhoneSimulator
    balancer: str  # base URL of the balancer process
    twilio: Twilio
    users: int
    events: list[dict[str, Any]] = field(default_factory=list)

    def worker(self, index: int) -> str:
        """The worker id of relay `index` (new at each start)."""
        url = f"http://127.0.0.1:{self.relays[index].port}/healthz"
        return str(httpx.get(url, timeout=10).json()["worker"])

    def answers(self, user: int) -> list[str]:
        """The bodies the relays sent to `user`, in the order the phone got them."""
        return [m.body for m in self.sim.messages(phone(user)) if m.direction != "inbound"]

    def answered(self) -> int:
        return sum(1 for m in self.sim.messages() if m.direction != "inbound")

    def rows(self, query: str, **params: Any) -> list[Any]:
        with self.db.engine.connect() as conn:
            return list(conn.execute(sql(query), params))


def relay_env(db_url: str, data: Path, public_url: str, sim_url: str) -> dict[str, str]:
    """The relays' environment: the default leases and renewal, quick retries."""
    return dict(os.environ) | {
        "COCKPIT_DATABASE_URL": db_url, "COCKPIT_DATA_DIR": str(data),
        "COCKPIT_PUBLIC_URL": public_url, "COCKPIT_SECRET_KEY": "test-secret",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_WHATSAPP_FROM": FROM, "TWILIO_API_BASE_URL": sim_url, "COCKPIT_AGENT": "echo",
        "COCKPIT_RETRY_BASE_SECONDS": "0.2", "COCKPIT_RETRY_MAX_SECONDS": "2",
        "COCKPIT_SEND_MAX_ATTEMPTS": "30",
        # Callbacks lost with a killed relay are looked up (and the look-ups shared) soon.
        "COCKPIT_STATUS_CHECK_SECONDS": "5",
    }  # fmt: skip


@contextmanager
def three_relays(pg: PrivateCluster, tmp_path: Path, user_count: int) -> Iterator[Cluster]:
    """Three `cockpit relay` processes on the private cluster, behind the balancer."""
    upgrade(pg.url)
    database = Database(pg.url)
    for user in range(user_count):
        users.add_user(database, phone(user), f"User {user}")
    sim_sock = bound_socket()
    sim_url = f"http://127.0.0.1:{sim_sock.getsockname()[1]}"
    lb_port = free_port()
    public_url = f"http://127.0.0.1:{lb_port}"
    ports = [free_port() for _ in range(3)]
    sim = make_simulator(public_url)
    env = relay_env(pg.url, tmp_path / "data", public_url, sim_url)
    relays = [RelayProcess(env, p, tmp_path / f"relay{n}.log") for n, p in enumerate(ports)]
    with ExitStack() as stack:
        stack.enter_context(serve(create_simulator_app(sim), sim_sock))
        balancer = stack.enter_context(balancer_process(lb_port, ports, tmp_path / "lb.log"))
        try:
            for relay in relays:  # all at once: on a busy machine each start takes a while
                start_in_background(relay)
            for relay in relays:
                wait_until(relay._healthy, timeout=120)
            yield Cluster(pg, database, relays, sim, balancer, Twilio(public_url, ports),
                          user_count)  # fmt: skip
        finally:
            _stop_all(relays)
            sim.release()
            database.dispose()


def _stop_all(relays: list[RelayProcess]) -> None:
    """SIGTERM every relay still running, then SIGKILL any that did not exit in 15 s."""
    running = [r.proc for r in relays if r.proc is not None and r.proc.poll() is None]
    for proc in running:
        proc.terminate()
    for proc in running:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


Holding = Callable[[Cluster, int, str], list[str]]


def held_messages(cluster: Cluster, index: int, worker: str) -> list[str]:
    """Bodies of the inbound messages relay `worker` has claimed and not finished."""
    query = "SELECT body FROM inbound_messages WHERE claimed_by = :w AND state = 'pending'"
    return [r[0] for r in cluster.rows(query, w=worker)]


def held_sends(cluster: Cluster, index: int, worker: str) -> list[str]:
    """Bodies of the outbox rows relay `worker` is sending right now."""
    query = "SELECT body FROM outbound_messages WHERE claimed_by = :w AND status = 'sending'"
    return [r[0] for r in cluster.rows(query, w=worker)]


def callbacks_in_hand(cluster: Cluster, index: int, worker: str) -> list[str]:
    """Bodies of the rows whose status callbacks relay `index` is handling right now."""
    in_hand = httpx.get(f"{cluster.balancer}/in-hand", timeout=10).json()[str(index)]
    oids = [t.split("#")[0].removeprefix("oid=") for t in in_hand]
    ids = [int(o) for o in oids if o.isdigit()]
    if not ids:
        return []
    query = "SELECT body FROM outbound_messages WHERE id = ANY(:ids)"
    return [r[0] for r in cluster.rows(query, ids=ids)]


def start_in_background(relay: RelayProcess) -> None:
    """Start a relay again as a supervisor would, without waiting for it to be ready (the
    others carry the load meanwhile; on a busy machine a start takes many seconds)."""
    with relay.log.open("ab") as out:
        relay.proc = subprocess.Popen(
            [sys.executable, "-m", "cockpit", "relay", "--port", str(relay.port)],
            env=relay.env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def kill_when(cluster: Cluster, index: int, holding: Holding, moment: str) -> dict[str, Any]:
    """SIGKILL relay `index` at a moment it holds work (`holding(...)` is not empty): the
    relay is frozen with SIGSTOP, looked at, and killed if it still holds some, else
    let go and watched again. Then it is started again (a new worker). Returns the event."""
    relay = cluster.relays[index]
    assert relay.proc is not None
    wait_until(relay._healthy, timeout=120)  # a relay restarted earlier may still be starting
    worker = cluster.worker(index)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if holding(cluster, index, worker):
            relay.proc.send_signal(signal.SIGSTOP)
            try:
                held = holding(cluster, index, worker)
            finally:
                if not held:
                    relay.proc.send_signal(signal.SIGCONT)
            if held:
                relay.proc.send_signal(signal.SIGKILL)
                relay.proc.wait(timeout=10)
                event = {"moment": moment, "relay": index, "at": time.monotonic(), "held": held,
                         "wall": datetime.now(UTC)}  # fmt: skip
                cluster.events.append(event)
                start_in_background(relay)
                return event
        time.sleep(0.002)  # poll period: the moment to kill at is caught by polling
    raise AssertionError(f"relay {index} never held work for {moment}")


def terminate(cluster: Cluster, index: int) -> dict[str, Any]:
    """SIGTERM relay `index` (a deploy), time its exit, start it again."""
    relay = cluster.relays[index]
    assert relay.proc is not None
    wait_until(relay._healthy, timeout=120)
    started = time.monotonic()
    relay.proc.send_signal(signal.SIGTERM)
    code = relay.proc.wait(timeout=30)
    event = {"moment": "sigterm", "relay": index, "at": started, "held": [],
             "exit_seconds": time.monotonic() - started, "code": code}  # fmt: skip
    cluster.events.append(event)
    start_in_background(relay)
    return event


def restart_postgres(cluster: Cluster) -> dict[str, Any]:
    """Restart the database server under the relays (`pg_ctl restart -m fast`)."""
    started = time.monotonic()
    cluster.pg.restart()
    event = {"moment": "postgres restart", "at": started, "held": [],
             "seconds": time.monotonic() - started}  # fmt: skip
    cluster.events.append(event)
    return event


async def send_all(
    cluster: Cluster, per_user: int, gap: float, actions: Mapping[int, Callable[[], Any]]
) -> list[int]:
    """Every user sends `per_user` messages, `gap` seconds apart, all users at once; each
    action runs (in a thread) once that many webhooks were answered. The final statuses."""
    statuses: list[int] = []
    pending: list[asyncio.Future[Any]] = []

    async def one_user(client: httpx.AsyncClient, user: int) -> None:
        await asyncio.sleep(gap * user / cluster.users)  # spread the users' starts
        for n in range(per_user):
            statuses.append(await cluster.twilio.post(client, user, text(user, n)))
            action = actions.get(len(statuses))
            if action is not None:
                pending.append(asyncio.ensure_future(asyncio.to_thread(action)))
            await asyncio.sleep(gap)  # the load's pace: a person's gap between messages

    limits = httpx.Limits(max_connections=cluster.users)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        await asyncio.gather(*(one_user(client, u) for u in range(cluster.users)))
        await asyncio.gather(*pending)
    return statuses


def takeover_seconds(cluster: Cluster, event: dict[str, Any]) -> float:
    """How long after the kill the work the relay held reached the phones: the latest
    answer among the held bodies (for a callback, the phone's next answer after it)."""
    killed: datetime = event["wall"]
    messages = [m for m in cluster.sim.messages() if m.direction != "inbound"]
    times = []
    for body in event["held"]:
        if event["moment"] == "mid-status-callback":
            number = next(m.number for m in messages if m.body == body)
            later = [
                m.date_created for m in messages if m.number == number and m.date_created > killed
            ]
            times.extend(later[:1])
        else:
            times.extend(m.date_created for m in messages if m.body == body)
    return max([0.0, *((t - killed).total_seconds() for t in times)])


if __name__ == "__main__":  # the balancer process: PORT RELAY_PORT...
    import uvicorn

    port, *relay_ports = (int(a) for a in sys.argv[1:])
    uvicorn.run(Balancer(relay_ports).app, host="127.0.0.1", port=port, log_level="warning")

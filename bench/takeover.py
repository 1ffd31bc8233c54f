"""How fast another relay takes over a killed relay's work, and what the heartbeat's lease
renewals cost the database.

`python -m bench takeover [--kills 10] [--users 20]`: three `cockpit relay` processes
(echo agent, default leases: 10 s renewed every 3 s) on a private PostgreSQL cluster, the
phone simulator as Twilio, users sending a message a second each. One relay at a time is
SIGKILLed at a moment it holds work (alternately an inbound message it is dispatching and
a send it has claimed: it is frozen with SIGSTOP, looked at, killed), then started again.
The takeover time of a kill is from the kill until the work the relay held has reached
the phone. Then, on the same database: the time of one renewal round holding 50 inbound
claims, 50 sends and 200 host streams (what a busy relay renews every 3 s) against the
dispatcher's idle poll (`inbox.due`, which every relay runs every second), medians of
200 calls each.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.results import RESULTS, load_average, machine, write_section
from cockpit.core.messages import Inbound, OutboundDraft
from cockpit.store import hosts, inbox, leases, outbox, users
from cockpit.store.db import Database
from cockpit.store.migrate import upgrade
from tests.relay.pgcluster import private_cluster
from tests.scale import harness
from tests.scale.harness import Cluster

MOMENTS = ((harness.held_messages, "mid-dispatch"), (harness.held_sends, "mid-send"))


def _kills(
    cluster: Cluster, count: int, events: list[dict[str, Any]], done: threading.Event
) -> None:
    try:
        for n in range(count):
            time.sleep(2.0)
            holding, moment = MOMENTS[n % 2]
            events.append(harness.kill_when(cluster, 1 + n % 2, holding, moment))
    finally:
        done.set()


async def _traffic(cluster: Cluster, done: threading.Event) -> int:
    """Each user sends a message a second until the kills are over; how many were sent."""
    sent = 0

    async def one_user(client: httpx.AsyncClient, user: int) -> None:
        nonlocal sent
        n = 0
        await asyncio.sleep(user / cluster.users)
        while not done.is_set():
            await cluster.twilio.post(client, user, harness.text(user, n))
            n, sent = n + 1, sent + 1
            await asyncio.sleep(1.0)

    async with httpx.AsyncClient(timeout=60) as client:
        await asyncio.gather(*(one_user(client, u) for u in range(cluster.users)))
    return sent


def takeovers(kills: int, user_count: int) -> tuple[list[float], int, int, float]:
    """Kill relays `kills` times under traffic; each kill's takeover seconds, messages sent,
    answered, and seconds after the last one until all were (or the wait gave up)."""
    with (
        tempfile.TemporaryDirectory() as folder,
        private_cluster() as pg,
        harness.three_relays(pg, Path(folder), user_count) as cluster,
    ):
        events: list[dict[str, Any]] = []
        done = threading.Event()
        killer = threading.Thread(target=_kills, args=(cluster, kills, events, done))
        killer.start()
        sent = asyncio.run(_traffic(cluster, done))
        killer.join()
        last = time.monotonic()
        deadline = last + 120
        while cluster.answered() < sent and time.monotonic() < deadline:
            time.sleep(0.2)
        tail = time.monotonic() - last
        time.sleep(1.0)
        times = [harness.takeover_seconds(cluster, e) for e in events]
        return times, sent, cluster.answered(), tail


def _median_ms(call: Any, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def renewal_cost(runs: int = 200) -> tuple[float, float]:
    """Median ms of one renewal round holding 50 + 50 + 200 claims, and of `inbox.due`."""
    with private_cluster() as pg:
        upgrade(pg.url)
        db = Database(pg.url)
        try:
            people = [users.add_user(db, harness.phone(n), f"U{n}") for n in range(200)]
            for n, person in enumerate(people[:50]):
                sid = f"SMbench{n}"
                inbox.store_inbound(db, Inbound(sid=sid, from_number=person.phone, to="+1",
                                                body="hi"), person.id)  # fmt: skip
            for record in inbox.due(db, limit=50):
                inbox.claim(db, record, "bench", 60)
            drafts = [OutboundDraft(key=f"b{n}", to=p.phone, body="x") for n, p in
                      enumerate(people[:50])]  # fmt: skip
            outbox.enqueue_now(db, drafts)
            sends = [outbox.claim(db, row, "bench", 60) for row in outbox.due_heads(db)]
            for person in people:
                hosts.take_lease(db, person.id, "bench", 60)
            held = {
                "inbox": [r.id for r in inbox.due(db, limit=50, worker="bench")],
                "send": [r.id for r in sends if r is not None],
                "host": [p.id for p in people],
            }
            lease = {kind: 60.0 for kind in leases.KINDS}
            assert leases.renew(db, "bench", held, lease) == {}
            renew = _median_ms(lambda: leases.renew(db, "bench", held, lease), runs)
            poll = _median_ms(lambda: inbox.due(db, 50, "other"), runs)
            return renew, poll
        finally:
            db.dispose()


def report(times: list[float], sent: int, answered: int, tail: float, renew: float,
           poll: float, loads: tuple[str, str]) -> str:  # fmt: skip
    p50, worst = statistics.median(times), max(times)
    per_second = renew / 3  # one round every COCKPIT_LEASE_RENEW_SECONDS (3 s)
    ratio = f"{renew / poll:.2f}× one idle poll, every 3 s; a relay polls 3 times a second"
    return f"""## takeover

Three `cockpit relay` processes (echo agent, **default leases**: 10 s, renewed every 3 s)
on a private PostgreSQL cluster; users send a message a second each; one relay at a
time SIGKILLed while it holds work (alternately an inbound message being dispatched and a
claimed send), then started again. Takeover: from the kill until the work it held
reached the phone. `python -m bench takeover`.

{machine()}
- load average before: {loads[0]}; after: {loads[1]} — takeover is bounded by the lease,
  not by CPU; the tail after the last message depends on the machine's load

| figure | value |
| --- | --- |
| kills | {len(times)} |
| takeover p50 | {p50:.1f} s |
| takeover max | {worst:.1f} s |
| takeover each | {", ".join(f"{t:.1f}" for t in times)} s |
| messages sent meanwhile | {sent}; answered {answered}, {tail:.1f} s after the last was sent |
| one renewal round (50 messages + 50 sends + 200 host streams held) | {renew:.2f} ms median |
| the dispatcher's idle poll (`inbox.due`), for scale | {poll:.2f} ms median |
| renewal cost per relay | {per_second:.2f} ms of database time a second ({ratio}) |

A kill taken over in 0 s held a send that Twilio had already taken: the next relay
found it in Twilio's list and sent nothing. The others wait for the lease (10 s after the
last renewal, up to 3 s before the kill) plus the next poll.
"""


def main(argv: list[str]) -> int:
    """Run the benchmark and write its section of bench/RESULTS.md."""
    parser = argparse.ArgumentParser(prog="python -m bench takeover")
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--users", type=int, default=20)
    opts = parser.parse_args(argv)
    before = load_average()
    times, sent, answered, tail = takeovers(opts.kills, opts.users)
    renew, poll = renewal_cost()
    text = report(times, sent, answered, tail, renew, poll, (before, load_average()))
    write_section(RESULTS, "takeover", text)
    print(text)
    return 0

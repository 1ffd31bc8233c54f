"""On PostgreSQL, relays tell each other of new work with LISTEN/NOTIFY.

A worker's wake-up signal (`Relay.inbox_ready`, `outbox_ready`, …) set in one relay is
announced on the channel `cockpit_work` as `kinds:worker_id`; every other relay sets the
same signals when the notification arrives, so its workers look at once instead of at
their next poll. Announcements are coalesced: while one NOTIFY is on its way, new ones
gather into the next, so a burst of webhooks costs a handful of statements, and the
webhook itself never waits for one (it only adds a name to a set).

Polling stays: it is the fallback while the listening connection is down (PostgreSQL
restarting), the only way on SQLite, and what finds claims that lapsed when a relay died
(a dead relay announces nothing).
"""

from __future__ import annotations

import asyncio
import contextlib

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from cockpit.log import get_logger
from cockpit.relay.runtime import Relay
from cockpit.store.db import Database

log = get_logger(__name__)
CHANNEL = "cockpit_work"


def conninfo(url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def notify_all(db: Database, worker: str) -> None:
    """Wake every other relay's workers now (this relay handed its claims back)."""
    kinds = "inbox,outbox,github,setup"
    with db.transaction() as s:
        s.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": f"{kinds}:{worker}"})


class Wakeup:
    """Listens for, and sends, the other relays' announcements of work."""

    def __init__(self, relay: Relay):
        self.relay = relay
        self._pending: set[str] = set()
        self._kick = asyncio.Event()
        self.sent = 0  # NOTIFY statements sent (bench/RESULTS.md counts them)
        self.received = 0
        for signal in relay.signals().values():
            signal.announce = self.announce

    def announce(self, kind: str) -> None:
        """Tell the other relays there is work of `kind` (never blocks)."""
        self._pending.add(kind)
        self._kick.set()

    async def run(self) -> None:
        """Listen and notify until cancelled; reconnect by itself after a failure."""
        try:
            await asyncio.gather(self._listen(), self._notify())
        finally:
            for signal in self.relay.signals().values():
                signal.announce = None

    async def _connect(self) -> psycopg.AsyncConnection[tuple[object, ...]]:
        return await psycopg.AsyncConnection.connect(
            conninfo(self.relay.db.url), autocommit=True, connect_timeout=5
        )

    async def _listen(self) -> None:
        delay = 0.5
        while True:
            try:
                async with await self._connect() as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    delay = 0.5
                    # What was announced while we were not listening is found now.
                    for signal in self.relay.signals().values():
                        signal.set_here()
                    async for note in conn.notifies():
                        self._heard(note.payload)
            except (psycopg.Error, OSError) as exc:
                log.warning("wakeup.listen_failed", error=str(exc), retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _heard(self, payload: str) -> None:
        kinds, _, sender = payload.partition(":")
        if sender == self.relay.worker_id:
            return
        self.received += 1
        signals = self.relay.signals()
        for kind in kinds.split(","):
            if kind in signals:
                signals[kind].set_here()

    async def _notify(self) -> None:
        conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None
        try:
            while True:
                await self._kick.wait()
                self._kick.clear()
                kinds, self._pending = self._pending, set()
                payload = f"{','.join(sorted(kinds))}:{self.relay.worker_id}"
                try:
                    if conn is None or conn.closed:
                        conn = await self._connect()
                    await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
                    self.sent += 1
                except (psycopg.Error, OSError) as exc:
                    # Dropped: the others find the work at their next poll.
                    log.warning("wakeup.notify_failed", error=str(exc))
                    if conn is not None:
                        with contextlib.suppress(Exception):
                            await conn.close()
                    conn = None
                    await asyncio.sleep(0.5)
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()

"""Engine and transactions: SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import column, create_engine, event, func, select, table
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DatabaseError, DataError, DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from cockpit.errors import InvalidDataError, StoreError
from cockpit.store.turns import WriteTurns

SQLITE_POOL = 40  # starlette's thread pool size
PG_POOL = 40  # connections at most, the same: one per worker thread
# How long a writing transaction may wait, in all, for its turn among this process's
# writers and then for SQLite's lock (another process may hold it) before the request
# is answered 503: well inside Twilio's 15 s, so Twilio never times out on the relay.
WAIT_SECONDS = 5.0
# SQLite's primary result codes for a damaged file: retrying cannot help.
_SQLITE_DAMAGED = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
# Tables whose pages the health check reads (not `SELECT 1`: that reads no page).
HEALTH_TABLES = tuple(table(name, column("id")) for name in
                      ("users", "inbound_messages", "outbound_messages"))  # fmt: skip
_WRITE = "cockpit_write"  # execution option: False for a transaction that only reads
_DEADLINE = "cockpit_deadline"  # execution option: time.monotonic() the wait ends at
_BUSY_MS = "cockpit_busy_ms"  # a pooled SQLite connection's busy timeout, as last set
# A pooled PostgreSQL connection idle longer than this is pinged before it is used. Not
# every checkout (`pool_pre_ping`): under load that round trip was one in seven and cost
# the webhook most of its p99 (bench/RESULTS.md, webhook). A connection used a moment ago
# that the server dropped since fails its statement instead; the pool then replaces all of
# its connections and the webhook answers 503, which Twilio retries (docs/deploy.md).
IDLE_PING_SECONDS = 1.0
_IDLE_SINCE = "cockpit_idle_since"  # time.monotonic() a pooled connection was checked in


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # The driver's own transaction handling off: `_sqlite_begin` says BEGIN itself.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    # WAL lets the webhook insert while a worker reads (persistent; a no-op once set).
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    # A writing transaction takes the write lock at BEGIN (waiting in the busy handler):
    # a deferred one that read first could not upgrade once another connection wrote,
    # and would fail at once (SQLITE_BUSY_SNAPSHOT) instead of waiting its turn.
    options = conn.get_execution_options()
    left = options.get(_DEADLINE, time.monotonic() + WAIT_SECONDS) - time.monotonic()
    busy_ms = max(1, int(left * 1000))
    # On the driver's connection: both run on every transaction, and SQLAlchemy's own
    # execution costs more than SQLite's. The busy wait is set again only when it must
    # shrink (a late turn): waiting up to 1% longer than the deadline costs nothing.
    raw, info = conn.connection.dbapi_connection, conn.connection.info
    assert raw is not None
    statement = "BEGIN IMMEDIATE" if options.get(_WRITE, True) else "BEGIN"
    try:
        if not busy_ms <= info.get(_BUSY_MS, 0) <= busy_ms * 1.01:
            raw.execute(f"PRAGMA busy_timeout = {busy_ms}")
            info[_BUSY_MS] = busy_ms
        raw.execute(statement)
    except sqlite3.Error as exc:  # as SQLAlchemy would have raised it (locked, damaged)
        raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc


def _pg_checkin(_dbapi_conn: Any, record: Any) -> None:
    # A record whose connection was invalidated gets a new one, and empty `info`, first.
    record.info[_IDLE_SINCE] = time.monotonic()


def _pg_ping_when_idle(engine: Engine, idle_seconds: float) -> Callable[[Any, Any, Any], None]:
    def checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < idle_seconds:
            return  # new, or used a moment ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool drops this connection and checks out another (or a new one).
            raise DisconnectionError(f"idle connection lost: {exc}") from exc

    return checkout


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain `postgresql://` URLs."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of a SQLite database file, so a fresh checkout just works.

    Both are private to the relay's user (folder 0700, file 0600; SQLite gives its
    -wal and -shm files the file's mode): the file holds users' numbers and codes' state.
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            private_file(Path(path))


def private_file(path: Path) -> None:
    """Make `path` (created empty if missing) readable and writable by its owner only."""
    with contextlib.suppress(OSError):  # a read-only or foreign file: SQLite will say so
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)


def _damaged(exc: DatabaseError) -> bool:
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return isinstance(code, int) and (code & 0xFF) in _SQLITE_DAMAGED


class Database:
    """One engine and its session factory; `transaction()` is the unit of work."""

    def __init__(
        self,
        url: str,
        *,
        wait_seconds: float = WAIT_SECONDS,
        idle_ping_seconds: float = IDLE_PING_SECONDS,
    ):
        self.url = normalize_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self.is_postgres = self.url.startswith("postgresql")
        if self.is_sqlite:
            ensure_sqlite_folder(self.url)
            # As many connections as threads that may use them, so none is reopened per call.
            self.engine: Engine = create_engine(
                self.url,
                connect_args={"check_same_thread": False, "timeout": wait_seconds},
                pool_size=SQLITE_POOL,
                max_overflow=SQLITE_POOL,
            )
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            # Room for every worker thread (no thread waits for a connection), half of them
            # kept open; a thread that still finds none fails within the wait, as a 503.
            self.engine = create_engine(
                self.url, pool_size=PG_POOL // 2, max_overflow=PG_POOL - PG_POOL // 2,
                pool_timeout=wait_seconds,
            )  # fmt: skip
            event.listen(self.engine.pool, "checkin", _pg_checkin)
            ping = _pg_ping_when_idle(self.engine, idle_ping_seconds)
            event.listen(self.engine.pool, "checkout", ping)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._closed = False
        self.damaged: str | None = None  # why the SQLite file is unusable, once seen
        self.wait_seconds = wait_seconds
        # This process's SQLite writers take turns (store/turns.py), webhooks first. The turn
        # and SQLite's lock share one deadline, so a lock held by another process fails
        # every waiter within `wait_seconds` at once, never one after another; reads take
        # no turn (WAL) and never wait.
        self._turns = WriteTurns()

    @contextmanager
    def transaction(self, *, urgent: bool = False) -> Iterator[Session]:
        """A session whose work commits on success and rolls back on error; `urgent`
        (a webhook someone waits for) goes before queued background writers on SQLite."""
        yield from self._unit_of_work(write=True, urgent=urgent)

    @contextmanager
    def writing(self, *, urgent: bool = False) -> Iterator[Connection]:
        """`transaction()` on a Core connection, for the webhook's and the status
        callback's few prebuilt statements: no Session to build, flush and close, which
        cost more than the statements themselves."""
        yield from self._unit_of_work(write=True, urgent=urgent, core=True)

    @contextmanager
    def single_statements(self) -> Iterator[Connection]:
        """A Core connection whose every statement commits by itself: for work that is one
        statement, or statements each of which stands alone. On PostgreSQL it runs in
        autocommit, so a statement costs one round trip instead of three (BEGIN, it,
        COMMIT); on SQLite it is `writing()`, which takes this process's turn to write."""
        yield from self._unit_of_work(write=True, core=True, autocommit=self.is_postgres)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A transaction that only reads: on SQLite it never waits for the write lock."""
        yield from self._unit_of_work(write=False)

    def _unit_of_work(
        self, *, write: bool, urgent: bool = False, core: bool = False, autocommit: bool = False
    ) -> Iterator[Any]:
        if self._closed:
            # A request finishing during shutdown must not open a connection nobody closes.
            raise StoreError("database is closed (shutting down)")
        if self.damaged:
            # Nothing is acknowledged on a file that lost data: Twilio keeps the message.
            raise StoreError(f"database unavailable: {self.damaged}")
        deadline = time.monotonic() + self.wait_seconds
        work = functools.partial(self._connection, autocommit=autocommit) if core else self._session
        if not (self.is_sqlite and write):
            yield from work({_WRITE: write, _DEADLINE: deadline})
            return
        if not self._turns.acquire(self.wait_seconds, urgent=urgent):
            raise StoreError(f"database busy: no turn to write within {self.wait_seconds:g} s")
        try:
            yield from work({_WRITE: True, _DEADLINE: deadline})
        finally:
            self._turns.release()

    def _session(self, options: dict[str, Any]) -> Iterator[Session]:
        session = self._sessions()
        try:
            with self._failures(session.rollback):
                if self.is_sqlite:
                    session.connection(execution_options=options)
                yield session
                session.commit()
        finally:
            session.close()

    def _connection(self, options: dict[str, Any], *, autocommit: bool) -> Iterator[Connection]:
        conn: Connection | None = None

        def rollback() -> None:
            with contextlib.suppress(DatabaseError):  # the failure itself is what counts
                if conn is not None:
                    conn.rollback()

        try:
            with self._failures(rollback):
                conn = self.engine.connect()
                if self.is_sqlite:
                    conn.execution_options(**options)
                elif autocommit:  # each statement commits alone: begin/commit send nothing
                    conn.execution_options(isolation_level="AUTOCOMMIT")
                conn.begin()
                yield conn
                conn.commit()
        finally:
            if conn is not None:
                conn.close()

    @contextmanager
    def _failures(self, rollback: Callable[[], object]) -> Iterator[None]:
        """Roll back on any error, and tell the caller what kind of failure it was."""
        try:
            yield
        except IntegrityError:
            rollback()
            raise  # a constraint: callers tell "already there" from a failure
        except DataError as exc:
            rollback()
            raise InvalidDataError(f"database refused a value: {_first_line(exc)}") from None
        except DatabaseError as exc:
            # Unreachable, locked, damaged: all "unavailable", so the caller answers 503.
            rollback()
            if self.is_sqlite and _damaged(exc):
                self.damaged = f"the SQLite file is damaged ({exc.orig}); restore it from a backup"
            raise StoreError(f"database unavailable: {self.damaged or exc.orig}") from exc
        except PoolTimeoutError as exc:
            rollback()
            raise StoreError(f"database busy: {exc}") from exc
        except BaseException:
            rollback()
            raise

    def ping(self) -> None:
        """Raise StoreError unless the database answers with rows of its real tables."""
        with self.reading() as s:
            for checked in HEALTH_TABLES:
                # Both ends of the table's b-tree: a page that cannot be read fails here.
                s.execute(select(func.min(checked.c.id), func.max(checked.c.id))).all()

    def check(self) -> None:
        """At start: raise StoreError when the SQLite file is damaged (`PRAGMA quick_check`)."""
        if not self.is_sqlite:
            return
        with self.reading() as s:
            problems = [row[0] for row in s.connection().exec_driver_sql("PRAGMA quick_check")]
        if problems != ["ok"]:
            self.damaged = "the SQLite file is damaged; restore it from a backup"
            raise StoreError(f"{self.damaged}: {'; '.join(problems[:3])}")

    def dispose(self) -> None:
        """Close every pooled connection; later transactions are refused."""
        self._closed = True
        self.engine.dispose()


def _first_line(exc: DatabaseError) -> str:
    # The driver's message without the statement and its parameters (message text, phones).
    return str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__

"""Engine and transactions: SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import column, create_engine, event, func, select, table
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DatabaseError, DataError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cockpit.errors import InvalidDataError, StoreError

SQLITE_POOL = 40  # starlette's thread pool size
# How long a transaction waits for SQLite's write lock (another process may hold it)
# before the request is answered 503: well inside Twilio's 15 s, so Twilio sees a
# failure it can retry instead of a timeout.
SQLITE_BUSY_SECONDS = 2.0
# SQLite's primary result codes for a damaged file: retrying cannot help.
_SQLITE_DAMAGED = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
# Tables whose pages the health check reads (not `SELECT 1`: that reads no page).
HEALTH_TABLES = tuple(table(name, column("id")) for name in
                      ("users", "inbound_messages", "outbound_messages"))  # fmt: skip
_WRITE = "cockpit_write"  # execution option: False for a transaction that only reads


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
    writes = conn.get_execution_options().get(_WRITE, True)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain `postgresql://` URLs."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of a SQLite database file, so a fresh checkout just works."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def _damaged(exc: DatabaseError) -> bool:
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return isinstance(code, int) and (code & 0xFF) in _SQLITE_DAMAGED


class Database:
    """One engine and its session factory; `transaction()` is the unit of work."""

    def __init__(self, url: str, *, pool_size: int = 10):
        self.url = normalize_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self.is_postgres = self.url.startswith("postgresql")
        if self.is_sqlite:
            ensure_sqlite_folder(self.url)
            # As many connections as threads that may use them, so none is reopened per call.
            self.engine: Engine = create_engine(
                self.url,
                connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS},
                pool_size=SQLITE_POOL,
                max_overflow=SQLITE_POOL,
            )
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            self.engine = create_engine(
                self.url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._closed = False
        self.damaged: str | None = None  # why the SQLite file is unusable, once seen

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits on success and rolls back on error."""
        yield from self._unit_of_work(write=True)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A transaction that only reads: on SQLite it never waits for the write lock."""
        yield from self._unit_of_work(write=False)

    def _unit_of_work(self, *, write: bool) -> Iterator[Session]:
        if self._closed:
            # A request finishing during shutdown must not open a connection nobody closes.
            raise StoreError("database is closed (shutting down)")
        if self.damaged:
            # Nothing is acknowledged on a file that lost data: Twilio keeps the message.
            raise StoreError(f"database unavailable: {self.damaged}")
        session = self._sessions()
        try:
            if self.is_sqlite and not write:
                session.connection(execution_options={_WRITE: False})
            yield session
            session.commit()
        except IntegrityError:
            session.rollback()
            raise  # a constraint: callers tell "already there" from a failure
        except DataError as exc:
            session.rollback()
            raise InvalidDataError(f"database refused a value: {_first_line(exc)}") from None
        except DatabaseError as exc:
            # Unreachable, locked, damaged: all "unavailable", so the caller answers 503.
            session.rollback()
            if self.is_sqlite and _damaged(exc):
                self.damaged = f"the SQLite file is damaged ({exc.orig}); restore it from a backup"
            raise StoreError(f"database unavailable: {self.damaged or exc.orig}") from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

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

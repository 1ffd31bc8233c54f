"""Throw-away databases for a benchmark: SQLite in a folder, or a new PostgreSQL database."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from cockpit.store import users
from cockpit.store.db import Database, normalize_url
from cockpit.store.migrate import upgrade

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def postgres_admin_url() -> str:
    """The PostgreSQL server to benchmark on: COCKPIT_BENCH_POSTGRES_URL or the local default."""
    return os.environ.get("COCKPIT_BENCH_POSTGRES_URL") or DEFAULT_POSTGRES_URL


@contextmanager
def sqlite_database(folder: Path) -> Iterator[str]:
    """The URL of a new SQLite file in `folder` (the folder's owner deletes it)."""
    folder.mkdir(parents=True, exist_ok=True)
    yield f"sqlite:///{folder / 'cockpit.db'}"


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """The URL of a new, empty database on the server of `admin_url`, dropped afterwards."""
    admin = make_url(normalize_url(admin_url))
    name = f"cockpit_bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield admin.set(database=name).render_as_string(hide_password=False)
        finally:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def prepare(url: str, phones: Sequence[str]) -> None:
    """Migrate the database at `url` and register one user per phone number."""
    upgrade(url)
    db = Database(url)
    try:
        for i, phone in enumerate(phones):
            users.add_user(db, phone, f"Bench user {i}")
    finally:
        db.dispose()


def describe(url: str) -> str:
    """Which database engine and version `url` points at."""
    db = Database(url)
    try:
        if db.is_sqlite:
            return f"SQLite {sqlite3.sqlite_version} (file, WAL, synchronous=NORMAL)"
        with db.engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar()
        return f"PostgreSQL {version} (127.0.0.1)"
    finally:
        db.dispose()


def unreachable(url: str) -> str | None:
    """Why the PostgreSQL server of `url` cannot be reached, or None when it can."""
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect():
            return None
    except OperationalError as exc:
        return f"PostgreSQL not reachable at {engine.url.render_as_string()}: {exc.orig}"
    finally:
        engine.dispose()

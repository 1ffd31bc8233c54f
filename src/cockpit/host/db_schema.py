"""The host database's schema, as ordered steps keyed by SQLite's `PRAGMA user_version`.

Step N takes a database at version N-1 to version N, in one transaction together with
the version bump, so a step that fails leaves the file exactly at its old version.
Step 1 is the schema the host created before it had versions (`CREATE TABLE IF NOT
EXISTS`, user_version 0): on such a file it creates nothing and only records version 1,
so hosts on persistent volumes are adopted without losing a row. A schema change is a new
step at the end of `STEPS` (`ALTER TABLE ... ADD COLUMN`, `CREATE TABLE`, a backfill);
never edit a step that has shipped. A file from a newer cockpit is refused, not touched.
See docs/decisions/0027-host-db-versions.md.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

from cockpit.errors import StoreError

Step = Callable[[sqlite3.Connection], None]


def sql_step(*statements: str) -> Step:
    """A step made of SQL statements, run one by one inside the step's transaction."""

    def run(conn: sqlite3.Connection) -> None:
        for statement in statements:
            conn.execute(statement)  # not executescript: that would commit half a step

    return run


# Version 1: the schema exactly as the host created it before it had versions.
_V1 = sql_step(
    """CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, turn_id TEXT,
  session TEXT, ts REAL NOT NULL, payload TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS turns (
  turn_id TEXT PRIMARY KEY, session TEXT NOT NULL, text TEXT NOT NULL, reply_to TEXT,
  media TEXT NOT NULL DEFAULT '[]', state TEXT NOT NULL, created REAL NOT NULL,
  finished REAL, error_kind TEXT, error_message TEXT)""",
    """CREATE TABLE IF NOT EXISTS sessions (
  name TEXT PRIMARY KEY, claude_session_id TEXT)""",
    """CREATE TABLE IF NOT EXISTS session_tools (
  session TEXT NOT NULL, tool TEXT NOT NULL, PRIMARY KEY (session, tool))""",
    """CREATE TABLE IF NOT EXISTS waits (
  wait_id TEXT PRIMARY KEY, kind TEXT NOT NULL, turn_id TEXT, session TEXT,
  subject TEXT NOT NULL, detail TEXT NOT NULL, state TEXT NOT NULL,
  answer TEXT, by TEXT, created REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS files (
  file_id TEXT PRIMARY KEY, path TEXT NOT NULL, content_type TEXT NOT NULL,
  filename TEXT NOT NULL, created REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS prefs (
  name TEXT PRIMARY KEY, value TEXT NOT NULL)""",
)

STEPS: tuple[Step, ...] = (_V1,)
"""Step i+1 of the host database; the latest version is `len(STEPS)`."""


class NewerSchemaError(StoreError):
    """The host database was written by a newer cockpit than this one."""


def user_version(conn: sqlite3.Connection) -> int:
    """The schema version recorded in the file (0: never versioned, or empty)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(
    conn: sqlite3.Connection, steps: Sequence[Step] = STEPS, *, name: str = "host.db"
) -> int:
    """Bring the database to version `len(steps)`, one transaction per step; its version.

    `conn` must be in autocommit mode (`isolation_level=None`). Raises NewerSchemaError when
    the file is at a version beyond `steps`, and StoreError when a step fails: that step is
    rolled back (the file stays at the version before it), the steps before it stay applied.
    """
    latest = len(steps)
    while True:
        conn.execute("BEGIN IMMEDIATE")  # one writer migrates; others wait, then see its work
        try:
            current = user_version(conn)
            if current > latest:
                raise NewerSchemaError(
                    f"{name} is at schema version {current}, but this cockpit knows only up to"
                    f" {latest}: upgrade cockpit, or move the file away to start afresh."
                )
            if current == latest:
                conn.execute("COMMIT")
                return current
            try:
                steps[current](conn)
                conn.execute(f"PRAGMA user_version = {current + 1}")
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                conn.execute("ROLLBACK")
                raise StoreError(
                    f"{name} could not be upgraded to schema version {current + 1} ({exc});"
                    f" it is left unchanged at version {current}."
                ) from exc
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

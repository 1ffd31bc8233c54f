"""What a database holds as stored: for checking that no secret is kept in clear."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from cockpit.store.db import Database


def dump_database(db: Database) -> bytes:
    """Every value of every table, as the database returns it, as one byte string."""
    out = bytearray()
    with db.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            query = text(f'SELECT * FROM "{table}"')  # noqa: S608 (names from the schema)
            for row in conn.execute(query):
                for value in row:
                    out += value if isinstance(value, bytes | memoryview) else str(value).encode()
                    out += b"\x00"
    return bytes(out)


def database_bytes(db: Database) -> bytes:
    """The raw database as stored: SQLite's files on disk, else every row's values."""
    if db.is_sqlite:
        path = Path(db.url.split("///", 1)[1])
        files = [path, path.with_name(path.name + "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    return dump_database(db)


def leaks(blob: bytes, secret: str) -> bool:
    """True when any 8 consecutive characters of `secret` appear in `blob`."""
    raw = secret.encode()
    return any(raw[i : i + 8] in blob for i in range(len(raw) - 7))

"""The host's own SQLite database: every query of the host lives here.

One file per host (`COCKPIT_DATA_DIR/host.db`), separate from the relay's store:
the numbered event log, turns with their text and state, the Claude session id of
each cockpit session, approvals, questions, tools allowed for a session, files
shown to the phone, and the user's preferences (automatic visuals). All calls run
on the host's event loop thread; each write commits before it returns, so an event
is durable before anyone can stream it. Its tables and
their versions are in `db_schema.py`.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.host.db_schema import STEPS, Step, migrate

ACTIVE_STATES = ("queued", "running")


@dataclass(frozen=True)
class Event:
    """One entry of the host's event log."""

    seq: int
    type: str
    turn_id: str | None
    session: str | None
    ts: float
    payload: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """The event as streamed: its fields with the payload merged in."""
        head = {
            "seq": self.seq,
            "type": self.type,
            "turn_id": self.turn_id,
            "session": self.session,
            "ts": self.ts,
        }
        return {**self.payload, **head}


@dataclass(frozen=True)
class Turn:
    """One message of the user to Claude, with its state."""

    turn_id: str
    session: str
    text: str
    reply_to: str | None
    media: list[dict[str, str]]
    state: str
    created: float
    finished: float | None
    error_kind: str | None
    error_message: str | None

    def as_dict(self) -> dict[str, Any]:
        """The turn as JSON for the API."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Wait:
    """A pending or resolved question to the phone: an approval or an ask_user question."""

    wait_id: str
    kind: str
    turn_id: str | None
    session: str | None
    subject: str
    detail: dict[str, Any]
    state: str
    answer: str | None
    by: str | None


class HostDB:
    """Small typed access to the host's SQLite file."""

    def __init__(self, path: Path, steps: Sequence[Step] = STEPS):
        """Open (or create) the file and migrate it through `steps` (see db_schema.py);
        raises NewerSchemaError, a StoreError, for a file from a newer cockpit."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        try:
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self.schema_version = migrate(self._conn, steps, name=str(path))
        except BaseException:
            self._conn.close()
            raise

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    # --- events ---
    def append_event(
        self, type_: str, turn_id: str | None, session: str | None, payload: dict[str, Any]
    ) -> Event:
        """Append one event and commit it; returns it with its sequence number."""
        ts = time.time()
        cur = self._conn.execute(
            "INSERT INTO events (type, turn_id, session, ts, payload) VALUES (?, ?, ?, ?, ?)",
            (type_, turn_id, session, ts, json.dumps(payload)),
        )
        return Event(int(cur.lastrowid or 0), type_, turn_id, session, ts, payload)

    def events_after(self, seq: int, limit: int = 500) -> list[Event]:
        """Events with a sequence number above `seq`, oldest first."""
        rows = self._conn.execute(
            "SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
        ).fetchall()
        return [
            Event(
                r["seq"], r["type"], r["turn_id"], r["session"], r["ts"], json.loads(r["payload"])
            )
            for r in rows
        ]

    # --- turns ---
    def insert_turn(
        self,
        turn_id: str,
        session: str,
        text: str,
        reply_to: str | None,
        media: list[dict[str, str]],
    ) -> None:
        """Store a new turn in state `queued`."""
        self._conn.execute(
            "INSERT INTO turns (turn_id, session, text, reply_to, media, state, created)"
            " VALUES (?, ?, ?, ?, ?, 'queued', ?)",
            (turn_id, session, text, reply_to, json.dumps(media), time.time()),
        )

    def get_turn(self, turn_id: str) -> Turn | None:
        """The turn with this id, if any."""
        row = self._conn.execute("SELECT * FROM turns WHERE turn_id = ?", (turn_id,)).fetchone()
        return _turn(row) if row else None

    def turns_in_state(self, *states: str) -> list[Turn]:
        """Turns in any of `states`, oldest first."""
        marks = ",".join("?" * len(states))
        rows = self._conn.execute(
            f"SELECT * FROM turns WHERE state IN ({marks}) ORDER BY created, rowid",  # noqa: S608
            states,
        ).fetchall()
        return [_turn(r) for r in rows]

    def set_turn_state(
        self,
        turn_id: str,
        state: str,
        error_kind: str | None = None,
        error_message: str | None = None,
    ) -> None:
        """Move a turn to `state` (finished states get a finish time)."""
        finished = None if state in ACTIVE_STATES else time.time()
        self._conn.execute(
            "UPDATE turns SET state = ?, finished = ?, error_kind = ?, error_message = ?"
            " WHERE turn_id = ?",
            (state, finished, error_kind, error_message, turn_id),
        )

    # --- sessions ---
    def claude_session_id(self, session: str) -> str | None:
        """The Claude Code session id last used by cockpit session `session`."""
        row = self._conn.execute(
            "SELECT claude_session_id FROM sessions WHERE name = ?", (session,)
        ).fetchone()
        return row["claude_session_id"] if row else None

    def set_claude_session_id(self, session: str, claude_session_id: str) -> None:
        """Remember the Claude Code session to resume for `session`."""
        self._conn.execute(
            "INSERT INTO sessions (name, claude_session_id) VALUES (?, ?)"
            " ON CONFLICT(name) DO UPDATE SET claude_session_id = excluded.claude_session_id",
            (session, claude_session_id),
        )

    def sessions(self) -> dict[str, str | None]:
        """Every known session with its Claude session id."""
        rows = self._conn.execute("SELECT name, claude_session_id FROM sessions").fetchall()
        return {r["name"]: r["claude_session_id"] for r in rows}

    def allow_tool(self, session: str, tool: str) -> None:
        """Let `tool` run without asking for the rest of `session`."""
        self._conn.execute(
            "INSERT OR IGNORE INTO session_tools (session, tool) VALUES (?, ?)", (session, tool)
        )

    def tool_allowed(self, session: str, tool: str) -> bool:
        """True if the user allowed `tool` for the whole `session`."""
        row = self._conn.execute(
            "SELECT 1 FROM session_tools WHERE session = ? AND tool = ?", (session, tool)
        ).fetchone()
        return row is not None

    # --- approvals and questions ---
    def insert_wait(self, wait: Wait) -> None:
        """Store a pending approval or question."""
        self._conn.execute(
            "INSERT INTO waits (wait_id, kind, turn_id, session, subject, detail, state,"
            " created) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
            (
                wait.wait_id,
                wait.kind,
                wait.turn_id,
                wait.session,
                wait.subject,
                json.dumps(wait.detail),
                time.time(),
            ),
        )

    def get_wait(self, wait_id: str, kind: str) -> Wait | None:
        """The approval or question with this id, if any."""
        row = self._conn.execute(
            "SELECT * FROM waits WHERE wait_id = ? AND kind = ?", (wait_id, kind)
        ).fetchone()
        if row is None:
            return None
        return Wait(
            row["wait_id"],
            row["kind"],
            row["turn_id"],
            row["session"],
            row["subject"],
            json.loads(row["detail"]),
            row["state"],
            row["answer"],
            row["by"],
        )

    def resolve_wait(self, wait_id: str, answer: str, by: str) -> bool:
        """Resolve a pending wait; False if it was not pending (already resolved)."""
        cur = self._conn.execute(
            "UPDATE waits SET state = 'resolved', answer = ?, by = ?"
            " WHERE wait_id = ? AND state = 'pending'",
            (answer, by, wait_id),
        )
        return cur.rowcount == 1

    def pending_waits(self) -> list[str]:
        """Ids of every approval or question still pending."""
        rows = self._conn.execute("SELECT wait_id FROM waits WHERE state = 'pending'")
        return [r["wait_id"] for r in rows.fetchall()]

    # --- files ---
    def insert_file(self, file_id: str, path: Path, content_type: str, filename: str) -> None:
        """Remember a file the phone may fetch."""
        self._conn.execute(
            "INSERT INTO files (file_id, path, content_type, filename, created)"
            " VALUES (?, ?, ?, ?, ?)",
            (file_id, str(path), content_type, filename, time.time()),
        )

    def get_file(self, file_id: str) -> tuple[Path, str, str] | None:
        """(path, content type, filename) of a stored file."""
        row = self._conn.execute("SELECT * FROM files WHERE file_id = ?", (file_id,)).fetchone()
        return (Path(row["path"]), row["content_type"], row["filename"]) if row else None

    # --- preferences ---
    def get_pref(self, name: str) -> str | None:
        """A stored preference of the user (e.g. `auto_visuals`), if set."""
        row = self._conn.execute("SELECT value FROM prefs WHERE name = ?", (name,)).fetchone()
        return str(row["value"]) if row else None

    def set_pref(self, name: str, value: str) -> None:
        """Store a preference; it outlives host restarts."""
        self._conn.execute(
            "INSERT INTO prefs (name, value) VALUES (?, ?)"
            " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, value),
        )


def _turn(row: sqlite3.Row) -> Turn:
    return Turn(
        row["turn_id"],
        row["session"],
        row["text"],
        row["reply_to"],
        json.loads(row["media"]),
        row["state"],
        row["created"],
        row["finished"],
        row["error_kind"],
        row["error_message"],
    )

"""The host database's schema versions: old files adopted, new ones current, newer refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cockpit.cli import app
from cockpit.errors import StoreError
from cockpit.host.db import HostDB
from cockpit.host.db_schema import STEPS, NewerSchemaError, sql_step
from tests.fakes.anthropic import free_port

BEFORE_VERSIONS = Path(__file__).with_name("host_db_before_versions.sql")


def old_host_db(path: Path) -> Path:
    """A host.db as the code before schema versions left it, with a row in every table."""
    conn = sqlite3.connect(path)
    conn.executescript(BEFORE_VERSIONS.read_text())
    conn.executescript(
        """
        INSERT INTO events (type, turn_id, session, ts, payload)
          VALUES ('progress', 't1', 'main', 1.0, '{"text": "Reading files"}'),
                 ('result', 't1', 'main', 2.0, '{"text": "Done: fixed the typo"}');
        INSERT INTO turns (turn_id, session, text, reply_to, media, state, created, finished)
          VALUES ('t1', 'main', 'fix the typo in README', NULL, '[]', 'done', 1.0, 2.0);
        INSERT INTO sessions VALUES ('main', 'claude-session-abc');
        INSERT INTO session_tools VALUES ('main', 'Bash');
        INSERT INTO waits (wait_id, kind, turn_id, session, subject, detail, state, created)
          VALUES ('w1', 'approval', 't1', 'main', 'Bash', '{"command": "ls"}', 'pending', 1.5);
        INSERT INTO files VALUES ('f1', '/data/files/shot.png', 'image/png', 'shot.png', 1.0);
        INSERT INTO prefs VALUES ('auto_visuals', 'off');
        """
    )
    conn.commit()
    conn.close()
    return path


def version_and_tables(path: Path) -> tuple[int, list[tuple[str, str]]]:
    """The file's user_version and the SQL of each of its tables, read from the file itself."""
    conn = sqlite3.connect(path)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name"
        ).fetchall()
        return int(version), tables
    finally:
        conn.close()


def assert_old_rows_intact(db: HostDB) -> None:
    """Everything `old_host_db` stored reads back through the host's own API."""
    assert [(e.seq, e.type, e.payload["text"]) for e in db.events_after(0)] == [
        (1, "progress", "Reading files"),
        (2, "result", "Done: fixed the typo"),
    ]
    turn = db.get_turn("t1")
    assert turn is not None and (turn.text, turn.state) == ("fix the typo in README", "done")
    assert db.sessions() == {"main": "claude-session-abc"}
    assert db.tool_allowed("main", "Bash")
    assert db.pending_waits() == ["w1"]
    assert db.get_file("f1") == (Path("/data/files/shot.png"), "image/png", "shot.png")
    assert db.get_pref("auto_visuals") == "off"


def test_a_host_db_from_before_versions_is_adopted_with_every_row(tmp_path: Path) -> None:
    """A host.db on a persistent volume made by the old code opens at the latest version with
    all its events, turns, sessions, approvals, files and preferences, and its event log
    carries on numbering where it stopped."""
    path = old_host_db(tmp_path / "host.db")
    db = HostDB(path)
    assert db.schema_version == len(STEPS)
    assert_old_rows_intact(db)
    assert db.append_event("progress", "t2", "main", {"text": "next"}).seq == 3
    db.close()
    assert version_and_tables(path)[0] == len(STEPS)


def test_a_fresh_host_db_gets_the_latest_version_and_the_old_tables(tmp_path: Path) -> None:
    """A new host starts at the latest version, with the same tables an old file has after
    adoption (step 1 is the old schema exactly)."""
    fresh = HostDB(tmp_path / "fresh.db")
    fresh.insert_turn("t1", "main", "hello", None, [])
    assert fresh.schema_version == len(STEPS)
    fresh.close()
    HostDB(old_host_db(tmp_path / "old.db")).close()
    assert version_and_tables(tmp_path / "fresh.db") == version_and_tables(tmp_path / "old.db")


def test_opening_twice_changes_nothing(tmp_path: Path) -> None:
    """Restarting the host on a current file keeps its version, its tables and its rows."""
    path = old_host_db(tmp_path / "host.db")
    HostDB(path).close()
    before = version_and_tables(path)
    again = HostDB(path)
    assert version_and_tables(path) == before
    assert_old_rows_intact(again)
    again.close()


def test_a_later_step_gives_an_old_file_a_column(tmp_path: Path) -> None:
    """A step added after step 1 (here an ALTER TABLE) upgrades an old file in place: the
    new column is there and the old rows are kept."""
    steps = (*STEPS, sql_step("ALTER TABLE turns ADD COLUMN model TEXT"))
    path = old_host_db(tmp_path / "host.db")
    db = HostDB(path, steps)
    assert db.schema_version == len(STEPS) + 1
    assert_old_rows_intact(db)
    db.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT text, model FROM turns").fetchall() == [
        ("fix the typo in README", None)
    ]
    conn.close()


def test_a_host_db_from_a_newer_cockpit_is_refused_plainly(tmp_path: Path) -> None:
    """A file written by a newer cockpit is refused with one sentence saying what to do, and
    is left exactly as it was."""
    path = tmp_path / "host.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(NewerSchemaError) as refused:
        HostDB(path)
    assert str(refused.value) == (
        f"{path} is at schema version 99, but this cockpit knows only up to {len(STEPS)}:"
        " upgrade cockpit, or move the file away to start afresh."
    )
    assert version_and_tables(path) == (99, [])


def test_cockpit_host_refuses_a_newer_host_db_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`cockpit host` on a data folder from a newer cockpit exits with the sentence, not a
    traceback."""
    data = tmp_path / "data"
    data.mkdir()
    conn = sqlite3.connect(data / "host.db")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    monkeypatch.setenv("COCKPIT_DATA_DIR", str(data))
    monkeypatch.setenv("COCKPIT_HOST_TOKEN", "host-token-for-tests")
    result = CliRunner().invoke(app, ["host", "--port", str(free_port())])
    output = " ".join(result.output.split())
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "is at schema version 99, but this cockpit knows only up to" in output
    assert "Traceback" not in output


def test_a_failing_step_leaves_the_file_at_its_old_version(tmp_path: Path) -> None:
    """When a step fails halfway, nothing of it stays (not even the table it created first),
    the host says which version the file is at, and it still opens with its rows."""
    broken = sql_step(
        "CREATE TABLE notes (note TEXT)", "ALTER TABLE no_such_table ADD COLUMN x TEXT"
    )
    path = old_host_db(tmp_path / "host.db")
    with pytest.raises(StoreError) as failed:
        HostDB(path, (*STEPS, broken))
    assert f"could not be upgraded to schema version {len(STEPS) + 1}" in str(failed.value)
    assert f"left unchanged at version {len(STEPS)}" in str(failed.value)
    version, tables = version_and_tables(path)
    assert version == len(STEPS) and "notes" not in [name for name, _ in tables]
    db = HostDB(path)
    assert_old_rows_intact(db)
    db.close()

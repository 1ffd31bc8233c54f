"""`cockpit secrets rotate`: a new COCKPIT_SECRET_KEY without losing a secret or a session."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cockpit.cli import app
from cockpit.errors import SecretKeyError
from cockpit.store import secrets, users
from cockpit.store.db import Database
from cockpit.store.migrate import upgrade

OLD, NEW = "old-secret-key-" + "o" * 20, "new-secret-key-" + "n" * 20
ANTHROPIC = "sk-ant-api03-" + "R0t8" * 20


def cockpit(*args: str) -> Result:
    """Run `cockpit ARGS` in-process (settings from the environment)."""
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    """The CLI's SQLite database, migrated, with two users' keys wrapped under OLD."""
    url = f"sqlite:///{tmp_path / 'cockpit.db'}"
    monkeypatch.setenv("COCKPIT_DATABASE_URL", url)
    monkeypatch.setenv("COCKPIT_DATA_DIR", str(tmp_path / "data"))
    upgrade(url)
    database = Database(url)
    for phone in ("+15551110001", "+15551110002"):
        user = users.add_user(database, phone, "Ada")
        secrets.put_secret(database, user.id, secrets.ANTHROPIC_API_KEY, ANTHROPIC, key=OLD)
    return database


def read_all(db: Database, key: object) -> list[str | None]:
    """Every user's Anthropic key, read with `key` (one key or a keyring)."""
    return [secrets.get_secret(db, u.id, secrets.ANTHROPIC_API_KEY, key=key)  # type: ignore[arg-type]
            for u in users.list_users(db)]  # fmt: skip


def test_rotate_rewraps_every_data_key_and_relays_read_throughout(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With both keys, relays read every secret before, during and after the rotation; after
    it the new key alone opens them, the old alone no longer does, and running it again
    changes nothing."""
    assert read_all(db, [NEW, OLD]) == [ANTHROPIC, ANTHROPIC]  # relays restarted with both
    monkeypatch.setenv("COCKPIT_SECRET_KEY", NEW)
    monkeypatch.setenv("COCKPIT_SECRET_KEY_PREVIOUS", OLD)
    first = cockpit("secrets", "rotate")
    assert first.exit_code == 0, first.output
    assert "Re-wrapped 2 data key(s); 0 already used the new key." in first.output
    assert read_all(db, NEW) == [ANTHROPIC, ANTHROPIC]
    with pytest.raises(SecretKeyError):
        read_all(db, OLD)
    again = cockpit("secrets", "rotate")
    assert "Re-wrapped 0 data key(s); 2 already used the new key." in again.output
    db.dispose()


def test_rotate_needs_both_keys(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without COCKPIT_SECRET_KEY_PREVIOUS the command refuses in one sentence, changing nothing."""
    monkeypatch.setenv("COCKPIT_SECRET_KEY", NEW)
    done = cockpit("secrets", "rotate")
    assert done.exit_code == 2 and "COCKPIT_SECRET_KEY_PREVIOUS" in done.output
    assert read_all(db, OLD) == [ANTHROPIC, ANTHROPIC]
    db.dispose()


def test_a_key_under_neither_key_is_reported(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A data key that opens with neither key is named (exit 2); the others are re-wrapped."""
    stranger = users.add_user(db, "+15551110003", "Eve")
    secrets.put_secret(db, stranger.id, secrets.ANTHROPIC_API_KEY, ANTHROPIC, key="a-third-key")
    monkeypatch.setenv("COCKPIT_SECRET_KEY", NEW)
    monkeypatch.setenv("COCKPIT_SECRET_KEY_PREVIOUS", OLD)
    done = cockpit("secrets", "rotate")
    assert done.exit_code == 2 and f"user(s) {stranger.id} open with neither" in done.output
    assert "Re-wrapped 2 data key(s)" in done.output
    db.dispose()

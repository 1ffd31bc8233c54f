"""User secrets on a real database: encrypted at rest, bound to user and name, erasable."""

from __future__ import annotations

import pytest
from sqlalchemy import text, update

from cockpit.errors import SecretKeyError
from cockpit.store import secrets, users
from cockpit.store.db import Database
from cockpit.store.models import UserSecret
from tests.rawdb import database_bytes, leaks

KEY = "test-secret-key-0123456789abcdef"
ANTHROPIC = "sk-ant-api03-" + "Q7xv" * 20 + "-Zk9A"
GITHUB = "github_pat_11ABCDEFG0" + "m3Rt" * 15


def test_secrets_are_not_stored_in_plaintext(db: Database) -> None:
    """The raw database holds no 8-character piece of a stored key, yet it reads back."""
    ada = users.add_user(db, "+15551230001", "Ada")
    secrets.put_secret(db, ada.id, secrets.ANTHROPIC_API_KEY, ANTHROPIC, key=KEY)
    secrets.put_secret(db, ada.id, secrets.GITHUB_TOKEN, GITHUB, key=KEY)
    blob = database_bytes(db)
    assert not leaks(blob, ANTHROPIC) and not leaks(blob, GITHUB)
    assert secrets.get_secret(db, ada.id, "anthropic_api_key", key=KEY) == ANTHROPIC
    assert secrets.get_secret(db, ada.id, "github_token", key=KEY) == GITHUB
    assert secrets.secret_hints(db, ada.id) == {"anthropic_api_key": "Zk9A", "github_token": "m3Rt"}


def test_a_different_secret_key_fails_clearly(db: Database) -> None:
    """Reading with another COCKPIT_SECRET_KEY raises SecretKeyError naming the key."""
    ada = users.add_user(db, "+15551230001", "Ada")
    secrets.put_secret(db, ada.id, "anthropic_api_key", ANTHROPIC, key=KEY)
    with pytest.raises(SecretKeyError, match="COCKPIT_SECRET_KEY"):
        secrets.get_secret(db, ada.id, "anthropic_api_key", key="another-key-entirely")


def test_a_ciphertext_moved_to_another_name_does_not_open(db: Database) -> None:
    """The associated data binds a sealed value to its name: a swapped blob is refused."""
    ada = users.add_user(db, "+15551230001", "Ada")
    secrets.put_secret(db, ada.id, "anthropic_api_key", ANTHROPIC, key=KEY)
    secrets.put_secret(db, ada.id, "github_token", GITHUB, key=KEY)
    with db.transaction() as s:
        sealed = s.get(UserSecret, (ada.id, "anthropic_api_key"))
        assert sealed is not None
        s.execute(
            update(UserSecret)
            .where(UserSecret.user_id == ada.id, UserSecret.name == "github_token")
            .values(sealed=sealed.sealed)
        )
    with pytest.raises(SecretKeyError, match="github_token"):
        secrets.get_secret(db, ada.id, "github_token", key=KEY)


def test_replacing_a_key_keeps_one_row_with_the_new_value(db: Database) -> None:
    """Rotating a key from the account page replaces the old value and its hint."""
    ada = users.add_user(db, "+15551230001", "Ada")
    secrets.put_secret(db, ada.id, "anthropic_api_key", ANTHROPIC, key=KEY)
    secrets.put_secret(db, ada.id, "anthropic_api_key", "sk-ant-new-key-9876", key=KEY)
    assert secrets.get_secret(db, ada.id, "anthropic_api_key", key=KEY) == "sk-ant-new-key-9876"
    assert secrets.secret_hints(db, ada.id) == {"anthropic_api_key": "9876"}
    assert secrets.get_secret(db, ada.id, "missing", key=KEY) is None


def test_erasing_leaves_no_secret_and_no_data_key(db: Database) -> None:
    """After erase, no row of the user is left in either secrets table; others keep theirs."""
    ada = users.add_user(db, "+15551230001", "Ada")
    bob = users.add_user(db, "+15551230002", "Bob")
    for user in (ada, bob):
        secrets.put_secret(db, user.id, "anthropic_api_key", ANTHROPIC, key=KEY)
    secrets.erase_secrets(db, ada.id)
    with db.engine.connect() as conn:
        for table in ("user_secrets", "user_data_keys"):
            query = text(f"SELECT user_id FROM {table}")  # noqa: S608 (fixed names)
            owners = conn.execute(query).scalars().all()
            assert owners == [bob.id]
    assert secrets.get_secret(db, ada.id, "anthropic_api_key", key=KEY) is None
    assert secrets.get_secret(db, bob.id, "anthropic_api_key", key=KEY) == ANTHROPIC

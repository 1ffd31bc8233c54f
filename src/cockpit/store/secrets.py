"""Users' secrets (API keys, tokens), encrypted at rest. Owns `user_secrets` and `user_data_keys`.

Envelope encryption, all AES-256-GCM from `cryptography`:

* the key-encryption key (KEK) is derived from COCKPIT_SECRET_KEY with HKDF-SHA256;
* each user has a random 256-bit data key, stored only wrapped by the KEK
  (associated data: the user id, so a wrapped key cannot be moved to another user);
* each secret is sealed with its user's data key (associated data: user id and
  secret name, so a ciphertext cannot be swapped between users or names).

Stored blobs are `nonce (12 bytes) || ciphertext+tag`. Only the last four
characters of a secret are kept in clear (`hint`), to show on the account page.
Rotating COCKPIT_SECRET_KEY re-wraps the data keys only (`rewrap`); the secrets
themselves are untouched. A `key` may be a keyring (the new key first, then the old
one): data keys open with either while the rotation runs, new ones use the first.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cockpit.errors import SecretKeyError
from cockpit.store.db import Database
from cockpit.store.models import UserDataKey, UserSecret

KEY_VERSION = 1
_NONCE = 12
_KEK_INFO = b"cockpit user secrets kek v1"

# Names other modules use; any short name works, these are the known ones.
ANTHROPIC_API_KEY = "anthropic_api_key"
CLAUDE_OAUTH_TOKEN = "claude_oauth_token"  # noqa: S105 (a name, not a token)
CLAUDE_CREDENTIALS = (ANTHROPIC_API_KEY, CLAUDE_OAUTH_TOKEN)  # a user has one of the two
GITHUB_TOKEN = "github_token"  # noqa: S105 (a name, not a token)

OneKey = str | SecretStr
SecretKey = OneKey | Sequence[OneKey]  # one key, or a keyring: the current key first


def _ring(key: SecretKey) -> list[OneKey]:
    return [key] if isinstance(key, str | SecretStr) else list(key)


def _kek(key: SecretKey) -> AESGCM:
    first = _ring(key)[0] if _ring(key) else ""
    raw = first.get_secret_value() if isinstance(first, SecretStr) else first
    if not raw:
        raise SecretKeyError("COCKPIT_SECRET_KEY is empty; user secrets need it")
    derived = HKDF(algorithm=SHA256(), length=32, salt=None, info=_KEK_INFO).derive(raw.encode())
    return AESGCM(derived)


def _seal(aead: AESGCM, plain: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return nonce + aead.encrypt(nonce, plain, aad)


def _open(aead: AESGCM, blob: bytes, aad: bytes) -> bytes:
    return aead.decrypt(blob[:_NONCE], blob[_NONCE:], aad)


def _dek_aad(user_id: int) -> bytes:
    return f"cockpit:data-key:user={user_id}".encode()


def _secret_aad(user_id: int, name: str) -> bytes:
    return f"cockpit:secret:user={user_id}:name={name}".encode()


def _unwrap_raw(row: UserDataKey, key: SecretKey) -> tuple[bytes, int]:
    """The data key and the index in the keyring of the key that opened it."""
    for index, one in enumerate(_ring(key)):
        try:
            return _open(_kek(one), row.wrapped, _dek_aad(row.user_id)), index
        except InvalidTag:
            continue
    raise SecretKeyError(
        f"the data key of user {row.user_id} does not open with this COCKPIT_SECRET_KEY "
        "(was the key changed? set the old one as COCKPIT_SECRET_KEY_PREVIOUS and run "
        "`cockpit secrets rotate`)"
    )


def _unwrap(row: UserDataKey, key: SecretKey) -> AESGCM:
    return AESGCM(_unwrap_raw(row, key)[0])


def _data_key(s: Session, user_id: int, key: SecretKey) -> AESGCM:
    row = s.get(UserDataKey, user_id)
    if row is None:
        dek = AESGCM.generate_key(bit_length=256)
        wrapped = _seal(_kek(key), dek, _dek_aad(user_id))
        s.add(UserDataKey(user_id=user_id, version=KEY_VERSION, wrapped=wrapped))
        s.flush()
        return AESGCM(dek)
    return _unwrap(row, key)


def hint_of(value: str) -> str:
    """The part of a secret that may be shown again: its last four characters."""
    return value[-4:] if len(value) >= 8 else ""


def put_secret(db: Database, user_id: int, name: str, value: str, *, key: SecretKey) -> None:
    """Store (or replace) the secret `name` of a user, encrypted."""
    if not value:
        raise ValueError("an empty secret is not stored; use delete_secret")
    with db.transaction() as s:
        aead = _data_key(s, user_id, key)
        sealed = _seal(aead, value.encode(), _secret_aad(user_id, name))
        row = s.get(UserSecret, (user_id, name))
        if row is None:
            s.add(UserSecret(user_id=user_id, name=name, sealed=sealed, hint=hint_of(value)))
        else:
            row.sealed, row.hint = sealed, hint_of(value)


def get_secret(db: Database, user_id: int, name: str, *, key: SecretKey) -> str | None:
    """The decrypted secret, or None when the user has none by that name.

    Raises SecretKeyError when it does not open (another COCKPIT_SECRET_KEY, tampering).
    Call it only to hand the value to the user's host or to a provider on their behalf.
    """
    with db.transaction() as s:
        row = s.get(UserSecret, (user_id, name))
        if row is None:
            return None
        aead = _data_key(s, user_id, key)
        try:
            return _open(aead, row.sealed, _secret_aad(user_id, name)).decode()
        except InvalidTag:
            raise SecretKeyError(f"secret {name!r} of user {user_id} does not open") from None


def secret_hints(db: Database, user_id: int) -> dict[str, str]:
    """Each stored secret's name with its last four characters (nothing is decrypted)."""
    with db.transaction() as s:
        rows = s.scalars(select(UserSecret).where(UserSecret.user_id == user_id))
        return {row.name: row.hint for row in rows}


def delete_secret(db: Database, user_id: int, name: str) -> bool:
    """Forget one secret; True when there was one."""
    with db.transaction() as s:
        result = s.execute(
            delete(UserSecret).where(UserSecret.user_id == user_id, UserSecret.name == name)
        )
        return bool(getattr(result, "rowcount", 0))


def erase_secrets(db: Database, user_id: int) -> None:
    """Forget every secret of a user and their data key (crypto-shredding)."""
    with db.transaction() as s:
        s.execute(delete(UserSecret).where(UserSecret.user_id == user_id))
        s.execute(delete(UserDataKey).where(UserDataKey.user_id == user_id))


@dataclass(frozen=True)
class Rewrapped:
    """What `rewrap` did: data keys moved to the new key, already there, or unopenable."""

    moved: int
    current: int
    unreadable: list[int]


def rewrap(db: Database, *, new: OneKey, previous: OneKey) -> Rewrapped:
    """Re-wrap every user's data key under `new` (those under `previous` only), one user
    per transaction; the secrets sealed by the data keys are not touched. Safe to run
    again, and while relays that accept both keys keep working."""
    with db.transaction() as s:
        ids = list(s.scalars(select(UserDataKey.user_id).order_by(UserDataKey.user_id)))
    moved, current, unreadable = 0, 0, []
    for user_id in ids:
        with db.transaction() as s:
            row = s.get(UserDataKey, user_id, with_for_update=True)
            if row is None:  # the user was deleted meanwhile
                continue
            try:
                dek, index = _unwrap_raw(row, [new, previous])
            except SecretKeyError:
                unreadable.append(user_id)
                continue
            if index == 0:
                current += 1
                continue
            row.wrapped = _seal(_kek(new), dek, _dek_aad(user_id))
            row.version = row.version + 1
            moved += 1
    return Rewrapped(moved, current, unreadable)

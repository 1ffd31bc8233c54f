"""Media kept for sending: signed links that expire, names that cannot escape."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.core.clock import ManualClock
from cockpit.errors import MediaError
from cockpit.media.signing import MediaSigner
from cockpit.media.store import LocalImageStore, safe_filename


def test_a_signed_token_names_its_media_until_it_expires() -> None:
    """A token works while fresh; an expired, altered or foreign one names nothing."""
    clock = ManualClock()
    signer = MediaSigner("secret", ttl_seconds=1, clock=clock)
    token = signer.token("a" * 32)
    assert signer.media_id(token) == "a" * 32
    assert signer.media_id(token[:-2] + "xx") is None
    assert MediaSigner("other secret", 1).media_id(token) is None
    clock.advance(2.1)
    assert signer.media_id(token) is None


def test_stored_media_cannot_be_reached_by_a_crafted_id(tmp_path: Path) -> None:
    """Only ids the store made resolve; path tricks are refused."""
    store = LocalImageStore(tmp_path / "media")
    stored = store.put(b"png-bytes", "image/png", "../../etc/passwd")
    assert store.path(stored.id).read_bytes() == b"png-bytes"
    assert stored.filename == "passwd"
    for crafted in ("../secret", "a" * 31, "/etc/passwd", stored.id + "/.."):
        with pytest.raises(MediaError):
            store.path(crafted)


def test_file_names_lose_their_folders() -> None:
    """A name with folders or odd characters becomes a plain file name."""
    assert safe_filename("..\\..\\boot.ini", "text/plain") == "boot.ini"
    assert safe_filename("", "image/png") == "file.png"

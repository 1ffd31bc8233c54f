"""WhatsApp's 24-hour window as pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cockpit.core.window import is_open, reopen_key

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
MARGIN = timedelta(minutes=5)


def test_the_window_closes_24_hours_after_the_last_message_minus_the_margin() -> None:
    """23 h 54 min after the user wrote is open; 23 h 56 min is already closed."""
    assert is_open(NOW - timedelta(hours=23, minutes=54), NOW, MARGIN)
    assert not is_open(NOW - timedelta(hours=23, minutes=56), NOW, MARGIN)
    assert not is_open(NOW - timedelta(hours=25), NOW, MARGIN)


def test_a_user_who_never_wrote_is_tried_free_form() -> None:
    """Without a known last message the send is tried; Twilio's 63016 settles it."""
    assert is_open(None, NOW, MARGIN)


def test_one_template_key_per_closed_window() -> None:
    """The same window gives the same key; a new message starts a new window and key."""
    first = reopen_key(7, NOW)
    assert first == reopen_key(7, NOW)
    assert first != reopen_key(7, NOW + timedelta(seconds=1))
    assert reopen_key(7, None) == "reopen:7:never"

"""Uptime from heartbeats: each beat vouches for two intervals, the rest is downtime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cockpit.core.uptime import uptime

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_regular_beats_make_a_whole_window_up() -> None:
    """A relay beating every 30 s for ten minutes was up the whole time."""
    beats = [(_at(s), 30.0) for s in range(0, 600, 30)]
    result = uptime(beats, _at(0), _at(600))
    assert result.ratio == 1.0 and result.outages == []


def test_a_gap_longer_than_two_intervals_is_downtime() -> None:
    """Beats stop at 60 s and resume at 300 s: 180 s down (from 120 s, two intervals later)."""
    beats = [(_at(s), 30.0) for s in (0, 30, 60, 300, 330, 360)]
    result = uptime(beats, _at(0), _at(400))
    assert result.down_seconds == 180.0
    assert result.outages == [(_at(120), _at(300))]
    assert result.ratio == 220 / 400


def test_one_late_beat_is_not_an_outage() -> None:
    """A beat 55 s after the previous one (interval 30 s) is tolerated."""
    beats = [(_at(0), 30.0), (_at(55), 30.0), (_at(80), 30.0)]
    assert uptime(beats, _at(0), _at(100)).outages == []


def test_the_time_after_the_last_beat_counts_as_down() -> None:
    """A relay that stopped beating is down until the window's end."""
    result = uptime([(_at(0), 10.0)], _at(0), _at(100))
    assert result.outages == [(_at(20), _at(100))] and result.up_seconds == 20.0


def test_two_relays_cover_each_others_gaps() -> None:
    """While one relay is down the other's beats keep the service up."""
    first = [(_at(s), 10.0) for s in range(0, 50, 10)]
    second = [(_at(s), 10.0) for s in range(40, 100, 10)]
    assert uptime(first + second, _at(0), _at(100)).ratio == 1.0


def test_a_beat_before_the_window_covers_its_start() -> None:
    """The last beat before the window still vouches for the window's first seconds."""
    result = uptime([(_at(-5), 10.0), (_at(10), 10.0)], _at(0), _at(30))
    assert result.outages == [] and result.up_seconds == 30.0

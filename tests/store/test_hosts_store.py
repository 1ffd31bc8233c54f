"""The relay's host tables on a real database: cursor, turns and prompts move together."""

from __future__ import annotations

import time

from cockpit.core.host_events import EventOutcome, PromptOpen, TurnUpdate
from cockpit.core.messages import OutboundDraft
from cockpit.store import hosts, outbox, users
from cockpit.store.db import Database

ADA = "+15551230001"


def test_an_event_read_twice_is_applied_once(db: Database) -> None:
    """Replaying a host event after a crash writes no second message and keeps the cursor."""
    user = users.add_user(db, ADA, "Ada")
    hosts.record_turn(db, "t1", user.id, "main", "hi")
    outcome = EventOutcome(turn=TurnUpdate("t1", "done", cost_usd=0.01, num_turns=2))
    draft = [OutboundDraft(key="host:1:7:0", to=ADA, body="✅ Done")]
    assert hosts.apply_event(db, user.id, 7, outcome, draft) is True
    assert hosts.apply_event(db, user.id, 7, outcome, draft) is False
    assert hosts.apply_event(db, user.id, 5, outcome, draft) is False
    assert [r.body for r in outbox.for_recipient(db, ADA)] == ["✅ Done"]
    assert hosts.get_link(db, user.id).cursor == 7
    (turn,) = hosts.turns_of(db, user.id)
    assert (turn.state, turn.cost_usd) == ("done", 0.01)


def test_a_late_ack_does_not_reopen_a_finished_turn(db: Database) -> None:
    """Events applied out of their natural order never move a turn backwards."""
    user = users.add_user(db, ADA, "Ada")
    hosts.record_turn(db, "t1", user.id, "main", "hi")
    hosts.apply_event(db, user.id, 1, EventOutcome(turn=TurnUpdate("t1", "failed", "auth")), [])
    hosts.apply_event(db, user.id, 2, EventOutcome(turn=TurnUpdate("t1", "running")), [])
    assert hosts.last_turn(db, user.id).state == "failed"  # type: ignore[union-attr]


def test_an_approval_stays_open_until_answered(db: Database) -> None:
    """An approval request is open for the user until it is resolved or answered."""
    user = users.add_user(db, ADA, "Ada")
    prompt = PromptOpen("ap1", "approval", "t1", ["allow", "allow_session", "deny"])
    hosts.apply_event(db, user.id, 1, EventOutcome(prompt_open=prompt), [])
    assert hosts.open_prompt(db, user.id) is not None
    hosts.apply_event(db, user.id, 2, EventOutcome(prompt_closed="ap1"), [])
    assert hosts.open_prompt(db, user.id) is None


def test_the_host_down_notice_is_decided_once_per_outage(db: Database) -> None:
    """Only the first failure of an outage counts as its start."""
    from cockpit.store.models import utcnow

    user = users.add_user(db, ADA, "Ada")
    assert hosts.mark_unreachable(db, user.id, utcnow()) is True
    assert hosts.mark_unreachable(db, user.id, utcnow()) is False
    hosts.mark_unreachable(db, user.id, None)
    assert hosts.mark_unreachable(db, user.id, utcnow()) is True


def test_one_relay_at_a_time_holds_a_host_lease_until_it_lapses(db: Database) -> None:
    """Relay B is refused while A's lease runs, A renews it, and B takes it once it lapses
    or A gives it up; A then cannot take it back while B holds it."""
    user = users.add_user(db, ADA, "Ada")
    assert hosts.take_lease(db, user.id, "relay-a", 0.5) is True
    assert hosts.take_lease(db, user.id, "relay-b", 0.5) is False
    assert hosts.take_lease(db, user.id, "relay-a", 0.5) is True  # renewal
    assert hosts.lease_owner(db, user.id) == "relay-a"
    time.sleep(0.6)
    assert hosts.lease_owner(db, user.id) is None
    assert hosts.take_lease(db, user.id, "relay-b", 30) is True
    assert hosts.take_lease(db, user.id, "relay-a", 30) is False
    hosts.release_lease(db, user.id, "relay-a")  # not its lease: nothing changes
    assert hosts.lease_owner(db, user.id) == "relay-b"
    hosts.release_lease(db, user.id, "relay-b")
    assert hosts.take_lease(db, user.id, "relay-a", 30) is True

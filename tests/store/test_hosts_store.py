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
    from cockpit.core.clock import utcnow

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


def _draft(key: str, body: str, **extra: object) -> OutboundDraft:
    return OutboundDraft(key=key, to=ADA, body=body, turn_id="t1", **extra)  # type: ignore[arg-type]


def test_the_answer_its_changes_and_its_cost_become_one_message(db: Database) -> None:
    """A held answer is joined by the change summary and the ✅ line, then let go; a
    picture in between waits behind it instead of releasing it."""
    user = users.add_user(db, ADA, "Ada")
    events = [
        [_draft("h:1", "It works.", hold_seconds=30)],
        [_draft("h:2", "📝 2 files changed, +2 −0:", kind="changes", hold_seconds=30, merge=True)],
        [
            OutboundDraft(
                key="h:3",
                to=ADA,
                media_id=None,
                body="a.py · b.py",
                turn_id="t1",
                kind="media",
                hold_seconds=0,
            )
        ],
        [_draft("h:4", "✅ Done · 1.0 s · 2 steps · $0.0100", kind="result", merge=True)],
    ]
    for seq, drafts in enumerate(events, 1):
        if seq == 3:  # a picture: keeps the held row held
            with db.transaction() as s:
                outbox.enqueue(s, drafts, is_postgres=db.is_postgres)
            continue
        hosts.apply_event(db, user.id, seq, EventOutcome(), drafts)
    rows = outbox.for_recipient(db, ADA)
    assert [r.body for r in rows] == [
        "It works.\n\n📝 2 files changed, +2 −0:\n\n✅ Done · 1.0 s · 2 steps · $0.0100",
        "a.py · b.py",
    ]
    assert [h.id for h in outbox.due_heads(db)] == [rows[0].id]  # let go: due now


def test_an_approval_replaces_the_held_progress_line_of_its_turn(db: Database) -> None:
    """The held "🧪 running" line is dropped when the approval of the same turn comes."""
    user = users.add_user(db, ADA, "Ada")
    progress = _draft("p:1", "🧪 running `ls`", kind="progress", hold_seconds=30)
    approval = _draft("p:2", "🔐 Run `ls`?", kind="approval", supersedes="progress")
    hosts.apply_event(db, user.id, 1, EventOutcome(), [progress])
    hosts.apply_event(db, user.id, 2, EventOutcome(), [approval])
    assert [r.body for r in outbox.for_recipient(db, ADA)] == ["🔐 Run `ls`?"]


def test_a_merge_that_would_pass_1600_characters_is_its_own_message(db: Database) -> None:
    """The ✅ line does not join an answer it would push over Twilio's limit."""
    user = users.add_user(db, ADA, "Ada")
    hosts.apply_event(db, user.id, 1, EventOutcome(), [_draft("m:1", "x" * 1590, hold_seconds=30)])
    hosts.apply_event(db, user.id, 2, EventOutcome(),
                      [_draft("m:2", "✅ Done · 1.0 s", kind="result", merge=True)])  # fmt: skip
    assert [len(r.body) for r in outbox.for_recipient(db, ADA)] == [1590, len("✅ Done · 1.0 s")]


def test_a_closed_prompt_remembers_how_and_when(db: Database) -> None:
    """A late tap can be told what happened: the resolution and its time are kept."""
    user = users.add_user(db, ADA, "Ada")
    prompt = PromptOpen("ap2", "approval", "t1", ["allow", "allow_session", "deny"])
    hosts.apply_event(db, user.id, 1, EventOutcome(prompt_open=prompt), [])
    hosts.close_prompt(db, "ap2", "allowed")
    hosts.apply_event(db, user.id, 2, EventOutcome(prompt_closed="ap2", prompt_resolution="x"), [])
    closed = hosts.get_prompt(db, "ap2")
    assert closed is not None and (closed.state, closed.resolution) == ("closed", "allowed")
    assert closed.resolved_at is not None and closed.user_id == user.id


def test_the_content_sid_is_kept_once_per_definition(db: Database) -> None:
    """Two relays creating the same template: the first SID wins and both use it."""
    from cockpit.store import content

    assert content.get_sid(db, "h" * 64) is None
    assert content.put_sid(db, "h" * 64, "HX" + "1" * 32, "approval") == "HX" + "1" * 32
    assert content.put_sid(db, "h" * 64, "HX" + "2" * 32, "approval") == "HX" + "1" * 32
    content.forget(db, "h" * 64)
    assert content.get_sid(db, "h" * 64) is None

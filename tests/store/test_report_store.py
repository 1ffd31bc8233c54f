"""The report's queries on a real database: replies, failures and misroutes traced by rows."""

from __future__ import annotations

from datetime import timedelta

from cockpit.core.clock import utcnow
from cockpit.core.host_events import EventOutcome, TurnUpdate
from cockpit.core.messages import Inbound, OutboundDraft
from cockpit.store import hosts, inbox, outbox, reports, users
from cockpit.store.db import Database

ADA, BOB = "+15551230001", "+15551230002"


def _message(db: Database, sid: str, sender: str, user_id: int) -> int:
    inbox.store_inbound(db, Inbound(sid, sender, "whatsapp:+14155238886", "hi"), user_id)
    return next(r.id for r in inbox.due(db) if r.message.sid == sid)


def _settle(db: Database, phone: str, status: str) -> None:
    """Give the newest row to `phone` the provider status `status`."""
    row = outbox.for_recipient(db, phone)[-1]
    outbox.apply_status(db, row_id=row.id, sid=f"SM{row.id:032d}", status=status, error_code=None)


def _host_says(db: Database, user_id: int, seq: int, to: str, turn: str, kind: str) -> None:
    draft = OutboundDraft(key=f"host:{user_id}:{seq}", to=to, body=kind, kind=kind,
                          user_id=user_id, turn_id=turn)  # fmt: skip
    hosts.apply_event(db, user_id, seq, EventOutcome(turn=TurnUpdate(turn, "done")), [draft])


def test_a_message_counts_as_answered_only_when_a_real_answer_reached_the_phone(
    db: Database,
) -> None:
    """Delivered echo and host results answer; a failed reply or a bare "on it" does not."""
    ada, bob = users.add_user(db, ADA, "Ada"), users.add_user(db, BOB, "Bob")
    m1, m2 = _message(db, "SM1", ADA, ada.id), _message(db, "SM2", ADA, ada.id)
    inbox.finish(db, m1, [OutboundDraft(key="e1", to=ADA, body="hi", inbound_id=m1)])
    _settle(db, ADA, "delivered")
    inbox.finish(db, m2, [OutboundDraft(key="e2", to=ADA, body="hi", inbound_id=m2)])
    _settle(db, ADA, "failed")
    for seq, sid in ((1, "SM3"), (2, "SM4")):
        inbound_id = _message(db, sid, BOB, bob.id)
        hosts.record_turn(db, sid, bob.id, "main", "task", inbound_id)
        _host_says(db, bob.id, seq, BOB, sid, "ack")
        _settle(db, BOB, "read")
    _host_says(db, bob.id, 3, BOB, "SM3", "result")
    _settle(db, BOB, "delivered")
    since, until = utcnow() - timedelta(minutes=1), utcnow() + timedelta(seconds=1)
    assert [m.sid for m in reports.unanswered(db, since, until)] == ["SM2", "SM4"]
    assert reports.active_users(db, since, until) == {ada.id, bob.id}
    assert [r.body for r in reports.failed_between(db, since, until)] == ["hi"]
    assert reports.unanswered(db, until, until + timedelta(hours=1)) == []


def test_a_reply_sent_to_someone_else_is_reported_as_misrouted(db: Database) -> None:
    """A host event of Bob's turn written to Ada's phone is caught by the turn it names."""
    ada, bob = users.add_user(db, ADA, "Ada"), users.add_user(db, BOB, "Bob")
    hosts.record_turn(db, "t-bob", bob.id, "main", "Bob's task")
    hosts.record_turn(db, "t-ada", ada.id, "main", "Ada's task")
    _host_says(db, ada.id, 1, ADA, "t-bob", "text")  # e.g. two users sharing one host
    _host_says(db, ada.id, 2, ADA, "t-ada", "text")
    since, until = utcnow() - timedelta(minutes=1), utcnow() + timedelta(seconds=1)
    (wrong,) = reports.misrouted(db, since, until)
    assert (wrong.to, wrong.expected, wrong.reason) == (ADA, BOB, "turn")


def test_heartbeats_are_read_with_the_one_before_the_window(db: Database) -> None:
    """The last beat before a window comes with the window's beats: it may cover its start."""
    from cockpit.store import heartbeats

    assert heartbeats.first_at(db) is None
    for _ in range(3):
        heartbeats.record(db, "relay-a", 30.0)
    beats = heartbeats.between(db, utcnow() - timedelta(hours=1), utcnow())
    assert [b.interval for b in beats] == [30.0, 30.0, 30.0]
    later = heartbeats.between(db, utcnow(), utcnow() + timedelta(hours=1))
    assert [b.at for b in later] == [beats[-1].at] == [heartbeats.last_at(db)]


def test_the_report_counts_sessions_tasks_and_cost_per_user(db: Database) -> None:
    """Two sessions, the latest task of one done: 1 of 2 completed; costs add up per user."""
    from cockpit import report

    ada = users.add_user(db, ADA, "Ada")
    users.add_user(db, BOB, "Bob")
    _message(db, "SM1", ADA, ada.id)
    for seq, (turn, session, state, cost) in enumerate(
        (
            ("t1", "main", "failed", 0.25),
            ("t2", "main", "done", 0.5),
            ("t3", "side", "failed", 1.0),
        ),
        start=1,
    ):
        hosts.record_turn(db, turn, ada.id, session, "task")
        outcome = EventOutcome(turn=TurnUpdate(turn, state, cost_usd=cost))
        hosts.apply_event(db, ada.id, seq, outcome, [])
    now = utcnow()
    figures = report.as_json(report.build(db, now - timedelta(hours=1), now, timedelta(0)))
    assert (figures["sessions"], figures["sessions_completed"]) == (2, 1)
    assert (figures["tasks"], figures["tasks_done"]) == (3, 1)
    assert (figures["users"], figures["active_users"]) == (2, 1)
    assert figures["cost_usd"] == figures["cost_per_active_user_usd"] == 1.75
    assert figures["cost_by_user"] == [{"phone": ADA, "name": "Ada", "tasks": 3, "cost_usd": 1.75}]
    assert figures["uptime_percent"] is None and figures["messages_without_reply"] == 1

"""The store on a real database: dedup, order per recipient, claims, status."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import text, update

from cockpit.core.clock import utcnow
from cockpit.core.messages import Inbound, OutboundDraft
from cockpit.store import inbox, outbox, reports, users, window_hold
from cockpit.store.db import Database
from cockpit.store.models import InboundMessage, OutboundMessage, User
from tests.live import wait_until

ADA = "+15551230001"
BOB = "+15551230002"


def _inbound(sid: str, body: str = "hi") -> Inbound:
    return Inbound(sid=sid, from_number=ADA, to="whatsapp:+14155238886", body=body)


def test_same_sid_is_stored_once(db: Database) -> None:
    """A retried webhook with the same MessageSid leaves one inbound row."""
    user = users.add_user(db, ADA, "Ada")
    assert inbox.store_inbound(db, _inbound("SM1"), user.id) is True
    assert inbox.store_inbound(db, _inbound("SM1"), user.id) is False
    assert inbox.count(db) == 1


def test_registering_a_number_twice_is_refused(db: Database) -> None:
    """`users add` of a known number says so instead of creating a second user."""
    users.add_user(db, ADA, "Ada")
    with pytest.raises(users.UserExistsError):
        users.add_user(db, "whatsapp:" + ADA, "Ada again")


def test_finishing_a_message_queues_its_replies_once(db: Database) -> None:
    """Handling a message twice (a crash in between) writes its replies once."""
    user = users.add_user(db, ADA, "Ada")
    inbox.store_inbound(db, _inbound("SM1"), user.id)
    (record,) = inbox.due(db)
    drafts = [OutboundDraft(key="echo:SM1:0", to=ADA, body="hi")]
    inbox.finish(db, record.id, drafts)
    inbox.finish(db, record.id, drafts)
    assert [r.body for r in outbox.for_recipient(db, ADA)] == ["hi"]
    assert inbox.due(db) == []


def test_only_the_oldest_unfinished_message_per_recipient_is_due(db: Database) -> None:
    """Messages to one phone go one at a time, while other phones are not held up."""
    outbox.enqueue_now(
        db,
        [
            OutboundDraft(key="a1", to=ADA, body="first"),
            OutboundDraft(key="a2", to=ADA, body="second"),
            OutboundDraft(key="b1", to=BOB, body="other"),
        ],
    )
    assert [r.key for r in outbox.due_heads(db)] == ["a1", "b1"]
    first = outbox.claim(db, outbox.due_heads(db)[0], "w1", lease=60)
    assert first is not None
    assert [r.key for r in outbox.due_heads(db)] == ["b1"]  # a2 waits while a1 is sending
    outbox.mark_accepted(db, first.id, "SM1", "queued", hold=60)
    assert [r.key for r in outbox.due_heads(db)] == ["b1"]  # and until a1 is reported sent
    outbox.apply_status(db, row_id=first.id, sid="SM1", status="sent", error_code=None)
    assert [r.key for r in outbox.due_heads(db)] == ["a2", "b1"]


def test_accepted_message_stops_blocking_after_the_hold(db: Database) -> None:
    """A lost `sent` callback delays the next message only for the configured hold."""
    outbox.enqueue_now(
        db, [OutboundDraft(key="a1", to=ADA, body="1"), OutboundDraft(key="a2", to=ADA, body="2")]
    )
    row = outbox.claim(db, outbox.due_heads(db)[0], "w1", lease=60)
    assert row is not None
    outbox.mark_accepted(db, row.id, "SM1", "queued", hold=0)
    assert [r.key for r in outbox.due_heads(db)] == ["a2"]


def test_only_one_worker_wins_a_claim(db: Database) -> None:
    """Two relays seeing the same row: exactly one gets to send it."""
    outbox.enqueue_now(db, [OutboundDraft(key="a1", to=ADA, body="1")])
    head = outbox.due_heads(db)[0]
    results = [outbox.claim(db, head, "w1", 60), outbox.claim(db, head, "w2", 60)]
    assert sum(r is not None for r in results) == 1


def test_a_claim_whose_sender_died_is_reconciled_before_resending(db: Database) -> None:
    """A row left `sending` by a dead relay comes back marked maybe-sent."""
    outbox.enqueue_now(db, [OutboundDraft(key="a1", to=ADA, body="1")])
    outbox.claim(db, outbox.due_heads(db)[0], "dead", lease=0)
    (expired,) = outbox.due_heads(db)
    again = outbox.claim(db, expired, "w2", lease=60)
    assert again is not None and again.maybe_sent and again.attempts == 2


def test_a_sid_that_reached_the_row_after_a_takeover_is_still_its_own(db: Database) -> None:
    """The dead relay's send is named by a status callback after another relay took the
    row over: reconciliation sees that sid as this row's send, not another message's."""
    outbox.enqueue_now(db, [OutboundDraft(key="a1", to=ADA, body="1")])
    outbox.enqueue_now(db, [OutboundDraft(key="a2", to=BOB, body="1")])
    first, other = outbox.due_heads(db)
    outbox.claim(db, first, "dead", lease=0)
    (expired,) = [r for r in outbox.due_heads(db) if r.id == first.id]
    taken_over = outbox.claim(db, expired, "w2", lease=60)
    assert taken_over is not None and taken_over.provider_sid is None
    outbox.apply_status(db, row_id=first.id, sid="SMdead", status="sent", error_code=None)
    outbox.mark_accepted(db, other.id, "SMother", "queued", hold=0)
    assert outbox.sids_in_use(db, ["SMdead", "SMother"], besides=first.id) == {"SMother"}


def test_status_never_moves_backwards(db: Database) -> None:
    """A late `sent` after `read` leaves the message read; a duplicate is harmless."""
    outbox.enqueue_now(db, [OutboundDraft(key="a1", to=ADA, body="1")])
    row = outbox.claim(db, outbox.due_heads(db)[0], "w1", 60)
    assert row is not None
    outbox.mark_accepted(db, row.id, "SM1", "queued", hold=10)
    for status in ("read", "sent", "delivered", "read"):
        assert outbox.apply_status(db, row_id=None, sid="SM1", status=status, error_code=None)
    assert outbox.for_recipient(db, ADA)[0].status == "read"
    assert not outbox.apply_status(db, row_id=None, sid="SMnone", status="sent", error_code=None)


def test_an_operator_retry_sends_a_failed_message_again(db: Database) -> None:
    """A failed row becomes due again, ahead of later rows; other rows are not touched."""
    outbox.enqueue_now(
        db,
        [
            OutboundDraft(key="f1", to=ADA, body="lost"),
            OutboundDraft(key="f2", to=ADA, body="next"),
        ],
    )
    (head,) = outbox.due_heads(db)
    claimed = outbox.claim(db, head, "w1", lease=60)
    assert claimed is not None
    outbox.mark_failed(db, claimed, "Twilio answered 400 (error 21211: Invalid 'To')", 21211)
    assert reports.failed_count(db, ADA) == 1
    assert [r.key for r in outbox.due_heads(db)] == ["f2"]
    assert outbox.retry_failed(db, claimed.id) is True
    assert outbox.retry_failed(db, claimed.id) is False  # pending now, not failed
    assert [r.key for r in outbox.due_heads(db)] == ["f1"]
    assert reports.failed_count(db, ADA) == 0
    assert outbox.retry_failed(db, 9999) is False


def test_a_postponed_message_holds_back_its_senders_later_ones(db: Database) -> None:
    """While Ada's first message waits for her host, her second is not due; Bob's is."""
    ada, bob = users.add_user(db, ADA, "Ada"), users.add_user(db, BOB, "Bob")
    inbox.store_inbound(db, _inbound("SM1", "first"), ada.id)
    inbox.store_inbound(db, _inbound("SM2", "second"), ada.id)
    bobs = Inbound(sid="SM3", from_number=BOB, to="whatsapp:+14155238886", body="other")
    inbox.store_inbound(db, bobs, bob.id)
    first = inbox.due(db)[0]
    inbox.postpone(db, first.id, "host unreachable", utcnow() + timedelta(hours=1), [])
    assert [r.message.sid for r in inbox.due(db)] == ["SM3"]
    assert inbox.retry_now(db, ada.id) == 2
    assert [r.message.sid for r in inbox.due(db)] == ["SM1", "SM2", "SM3"]


def test_two_relays_racing_for_a_message_get_it_once(db: Database) -> None:
    """Of two relays claiming the same due message, one gets it and the other is refused."""
    ada = users.add_user(db, ADA, "Ada")
    inbox.store_inbound(db, _inbound("SM1"), ada.id)
    (seen_by_a,) = inbox.due(db)
    (seen_by_b,) = inbox.due(db)
    won = inbox.claim(db, seen_by_a, "relay-a", 60)
    assert won is not None and won.message.sid == "SM1"
    assert inbox.claim(db, seen_by_b, "relay-b", 60) is None
    assert inbox.due(db) == []
    inbox.finish(db, won.id, [])
    assert inbox.claim(db, seen_by_b, "relay-b", 60) is None  # handled: nothing to take


def test_a_lapsed_inbound_claim_can_be_taken_over(db: Database) -> None:
    """When the relay holding a message stops renewing (died), another relay takes it."""
    ada = users.add_user(db, ADA, "Ada")
    inbox.store_inbound(db, _inbound("SM1"), ada.id)
    (record,) = inbox.due(db)
    assert inbox.claim(db, record, "dead-relay", -1) is not None  # lease already over
    assert [r.message.sid for r in inbox.due(db)] == ["SM1"]
    assert inbox.claim(db, record, "relay-b", 60) is not None
    assert inbox.claim(db, record, "relay-c", 60) is None


def test_a_claimed_message_holds_back_its_senders_next_one(db: Database) -> None:
    """While a relay handles Ada's first message, her second is not due; Bob's is."""
    ada, bob = users.add_user(db, ADA, "Ada"), users.add_user(db, BOB, "Bob")
    inbox.store_inbound(db, _inbound("SM1", "first"), ada.id)
    inbox.store_inbound(db, _inbound("SM2", "second"), ada.id)
    bobs = Inbound(sid="SM3", from_number=BOB, to="whatsapp:+14155238886", body="other")
    inbox.store_inbound(db, bobs, bob.id)
    first = inbox.due(db)[0]
    assert inbox.claim(db, first, "relay-a", 60) is not None
    assert [r.message.sid for r in inbox.due(db)] == ["SM3"]
    inbox.postpone(db, first.id, "host unreachable", utcnow(), [])  # releases the claim
    assert [r.message.sid for r in inbox.due(db)] == ["SM1", "SM2", "SM3"]


def test_a_late_postpone_leaves_the_relay_that_took_over_alone(db: Database) -> None:
    """A relay whose lease lapsed cannot postpone the message another relay now holds:
    that relay's claim stands and the user gets no "couldn't pass it on" notice."""
    ada = users.add_user(db, ADA, "Ada")
    inbox.store_inbound(db, _inbound("SM1", "first"), ada.id)
    first = inbox.due(db)[0]
    assert inbox.claim(db, first, "relay-a", 0) is not None  # lapses at once
    assert inbox.claim(db, inbox.due(db)[0], "relay-b", 60) is not None
    notice = OutboundDraft(key="delay:SM1", to=ADA, body="couldn't pass it on", user_id=ada.id)
    assert not inbox.postpone(db, first.id, "host unreachable", utcnow(), [notice], "relay-a")
    assert inbox.due(db) == [] and outbox.pending_count(db) == 0
    assert inbox.postpone(db, first.id, "host unreachable", utcnow(), [notice], "relay-b")
    assert [r.message.sid for r in inbox.due(db)] == ["SM1"] and outbox.pending_count(db) == 1


def test_a_relay_retakes_its_own_unfinished_claim_at_once(db: Database) -> None:
    """A relay whose `finish` failed (database away) tries its message again without
    waiting out its lease, while other relays still wait; a release frees it for all."""
    ada = users.add_user(db, ADA, "Ada")
    inbox.store_inbound(db, _inbound("SM1"), ada.id)
    (record,) = inbox.due(db)
    assert inbox.claim(db, record, "relay-a", 60) is not None
    assert [r.message.sid for r in inbox.due(db, worker="relay-a")] == ["SM1"]
    assert inbox.due(db, worker="relay-b") == []
    assert inbox.claim(db, record, "relay-a", 60) is not None
    inbox.release(db, record.id, "relay-a")
    assert inbox.claim(db, record, "relay-b", 60) is not None


def _waiting_on_a_lock(db: Database) -> bool:
    """Whether another connection of this database waits for a row lock (PostgreSQL)."""
    with db.reading() as s:
        waiting = s.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'"
            )
        ).scalar_one()
    return bool(waiting)


def test_a_retried_webhook_while_its_message_is_being_finished_is_a_plain_duplicate(
    db: Database,
) -> None:
    """Twilio retries a message (same MessageSid) while the dispatcher finishes the first
    copy (its row updated, its reply being queued, one transaction): the retry is answered
    as a duplicate and the reply is queued. Before, the retry held the user's row FOR
    UPDATE, which the reply's foreign key waits for, while waiting on the dispatcher's row:
    PostgreSQL broke the deadlock by failing one of them (a 503 to Twilio)."""
    ada = users.add_user(db, ADA, "Ada")
    refusal = OutboundDraft(key="refusal", to=ADA, body="no", kind="refusal")
    assert inbox.accept(db, _inbound("SM1"), [], refusal) == "accepted"
    (row,) = inbox.due(db)
    answers: list[str] = []
    retry = threading.Thread(
        target=lambda: answers.append(inbox.accept(db, _inbound("SM1"), [], refusal))
    )
    with db.transaction() as s:  # the dispatcher's `finish`, held open at its worst moment
        s.execute(update(InboundMessage).where(InboundMessage.id == row.id).values(state="done"))
        retry.start()
        if db.is_postgres:  # on SQLite the retry waits for its turn to write instead
            wait_until(lambda: _waiting_on_a_lock(db), timeout=10)
        reply = OutboundDraft(key="reply", to=ADA, body="echo", user_id=ada.id)
        outbox.enqueue(s, [reply], is_postgres=db.is_postgres)
    retry.join(timeout=30)
    assert answers == ["duplicate"] and outbox.exists(db, "reply")


def _hold_open(db: Database, user_id: int, started: threading.Thread) -> None:
    """`window_hold.hold` of the user's outbound rows, held open at its worst moment: the
    user's row locked and the rows held, while `started` (a webhook) waits for that lock."""
    with db.transaction() as s:
        s.get(User, user_id, with_for_update={"key_share": True})
        s.execute(update(OutboundMessage).values(status="held"))
        started.start()
        if db.is_postgres:  # on SQLite the webhook waits for its turn to write instead
            wait_until(lambda: _waiting_on_a_lock(db), timeout=10)


def test_a_message_held_while_the_webhook_waited_for_the_sender_is_released(
    db: Database,
) -> None:
    """The sender decides to hold a reply (the window looked closed) just as the user
    writes: the webhook waits for the hold to commit, then releases what it held. On
    PostgreSQL a single statement that also released held rows would not see that
    hold (its rows are as they were when it began) and the reply would wait for the
    user's next message."""
    ada = users.add_user(db, ADA, "Ada")
    refusal = OutboundDraft(key="refusal", to=ADA, body="no", kind="refusal")
    outbox.enqueue_now(db, [OutboundDraft(key="reply", to=ADA, body="the answer")])
    answers: list[str] = []
    webhook = threading.Thread(
        target=lambda: answers.append(inbox.accept(db, _inbound("SM1"), [], refusal))
    )
    _hold_open(db, ada.id, webhook)
    webhook.join(timeout=30)
    assert answers == ["accepted"]
    assert window_hold.held_count(db, ADA) == 0


def test_a_retried_message_releases_what_a_stopped_relay_left_held(db: Database) -> None:
    """The relay stored a message and stopped before it released the user's held
    replies (PostgreSQL stores and releases in two statements): Twilio's retry, a
    duplicate, releases them."""
    users.add_user(db, ADA, "Ada")
    refusal = OutboundDraft(key="refusal", to=ADA, body="no", kind="refusal")
    assert inbox.accept(db, _inbound("SM1"), [], refusal) == "accepted"
    outbox.enqueue_now(db, [OutboundDraft(key="reply", to=ADA, body="the answer")])
    with db.transaction() as s:
        s.execute(update(OutboundMessage).values(status="held"))
    assert window_hold.held_count(db, ADA) == 1
    assert inbox.accept(db, _inbound("SM1"), [], refusal) == "duplicate"
    assert window_hold.held_count(db, ADA) == 0 and inbox.count(db) == 1


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_an_idle_connection_the_server_dropped_is_replaced_unseen(db_url: str) -> None:
    """PostgreSQL closed a pooled connection while it was idle (a restart, an idle
    timeout): the next message is still stored, not answered 503."""
    db = Database(db_url, idle_ping_seconds=0.0)  # every pooled connection counts as idle
    admin = Database(db_url)
    try:
        user = users.add_user(db, ADA, "Ada")
        with db.reading() as s:
            backend = s.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with admin.writing() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        assert inbox.store_inbound(db, _inbound("SM-after-drop"), user.id) is True
        with db.reading() as s:
            assert s.execute(text("SELECT pg_backend_pid()")).scalar_one() != backend
    finally:
        db.dispose()
        admin.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_single_statements_commit_at_once_and_leave_the_pool_transactional(db_url: str) -> None:
    """A status callback's UPDATE commits by itself (no BEGIN/COMMIT round trips), and the
    connection it used goes back to the pool transactional: the next webhook's writes on
    that very connection still roll back together when one of them fails."""
    db, other = Database(db_url), Database(db_url)
    names = text("SELECT name FROM users WHERE phone = :p").bindparams(p=ADA)
    rename = text("UPDATE users SET name = :n WHERE phone = :p")
    try:
        users.add_user(db, ADA, "Ada")
        with db.single_statements() as conn:
            backend = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            conn.execute(rename, {"n": "Ada L.", "p": ADA})
            with other.reading() as s:  # seen before the block ends: already committed
                assert s.execute(names).scalar_one() == "Ada L."
        with pytest.raises(RuntimeError), db.writing() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() == backend
            conn.execute(rename, {"n": "lost", "p": ADA})
            raise RuntimeError("the webhook failed half-way")
        with other.reading() as s:
            assert s.execute(names).scalar_one() == "Ada L."
    finally:
        db.dispose()
        other.dispose()

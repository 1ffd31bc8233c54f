"""Claims of every kind on a real database: renewed in one go, lapsing, fenced, handed back."""

from __future__ import annotations

from cockpit.core.clock import ManualClock
from cockpit.core.host_events import EventOutcome
from cockpit.core.messages import Inbound, OutboundDraft
from cockpit.store import github, hosts, inbox, leases, outbox, users
from cockpit.store.db import Database

ADA = "+15551230001"
LEASES = {kind: 0.6 for kind in leases.KINDS}


def _message(db: Database, user_id: int, sid: str = "SM1") -> inbox.InboundRecord:
    inbox.store_inbound(db, Inbound(sid=sid, from_number=ADA, to="+1", body="hi"), user_id)
    (record,) = [r for r in inbox.due(db) if r.message.sid == sid]
    return record


def test_a_renewed_inbound_claim_outlives_its_lease_and_a_lapsed_one_is_taken(
    db: Database,
) -> None:
    """While relay A renews its claim relay B cannot take the message, however long it runs;
    once A stops renewing, B takes it and A's late answer is refused (fenced)."""
    user = users.add_user(db, ADA, "Ada")
    record = _message(db, user.id)
    clock = ManualClock()  # from after the message was stored: it is due
    assert inbox.claim(db, record, "relay-a", 0.6, now=clock.now()) is not None
    for _ in range(3):  # three leases long, renewed as the heartbeat does
        clock.advance(0.3)
        assert leases.renew(db, "relay-a", {"inbox": [record.id]}, LEASES, now=clock.now()) == {}
        assert inbox.claim(db, record, "relay-b", 0.6, now=clock.now()) is None
    clock.advance(0.7)  # relay A died: nobody renews
    assert inbox.claim(db, record, "relay-b", 30, now=clock.now()) is not None
    lost = leases.renew(db, "relay-a", {"inbox": [record.id]}, LEASES, now=clock.now())
    assert lost == {"inbox": {record.id}}
    late = [OutboundDraft(key="echo:a", to=ADA, body="from A", inbound_id=record.id)]
    assert inbox.finish(db, record.id, late, "relay-a") is False
    assert inbox.finish(db, record.id, [], "relay-b") is True
    assert outbox.for_recipient(db, ADA) == []


def test_a_send_taken_over_is_fenced_and_a_cut_send_is_not_handed_back(db: Database) -> None:
    """A relay whose send claim was taken over cannot record its send; a stopping relay's
    send in flight is not handed back (it might still reach Twilio): its lease runs out."""
    users.add_user(db, ADA, "Ada")
    outbox.enqueue_now(db, [OutboundDraft(key="k1", to=ADA, body="one")])
    clock = ManualClock()  # from after the message was queued: it is due
    (head,) = outbox.due_heads(db, now=clock.now())
    mine = outbox.claim(db, head, "relay-a", 0.2, now=clock.now())
    assert mine is not None
    clock.advance(0.3)
    (expired,) = outbox.due_heads(db, now=clock.now())
    theirs = outbox.claim(db, expired, "relay-b", 3, now=clock.now())
    assert theirs is not None and theirs.maybe_sent
    assert outbox.mark_accepted(db, mine.id, "SMa", "queued", 10, attempts=mine.attempts) is False
    assert leases.release_all(db, "relay-b") == {}
    assert outbox.due_heads(db, now=clock.now()) == []  # still relay B's until its lease runs out
    clock.advance(3.1)
    (again,) = outbox.due_heads(db, now=clock.now())
    assert (again.status, again.provider_sid) == ("sending", None)


def test_host_leases_renew_together_and_a_fenced_follower_writes_nothing(db: Database) -> None:
    """One renewal keeps all of a relay's host leases; once another relay took a host over,
    the old holder's events are refused."""
    ada = users.add_user(db, ADA, "Ada")
    bob = users.add_user(db, "+15551230002", "Bob")
    clock = ManualClock()
    assert hosts.take_lease(db, ada.id, "relay-a", 0.6, now=clock.now())
    assert hosts.take_lease(db, bob.id, "relay-a", 0.6, now=clock.now())
    clock.advance(0.4)
    held = {"host": [ada.id, bob.id]}
    assert leases.renew(db, "relay-a", held, LEASES, now=clock.now()) == {}
    clock.advance(0.4)  # past the first lease: only the renewal holds them
    assert not hosts.take_lease(db, ada.id, "relay-b", 30, now=clock.now())
    clock.advance(0.7)
    assert hosts.take_lease(db, ada.id, "relay-b", 30, now=clock.now())
    assert leases.renew(db, "relay-a", held, LEASES, now=clock.now()) == {"host": {ada.id}}
    draft = [OutboundDraft(key="host:1:1:0", to=ADA, body="late")]
    assert hosts.apply_event(db, ada.id, 1, EventOutcome(), draft, owner="relay-a") is None
    assert hosts.apply_event(db, ada.id, 1, EventOutcome(), draft, owner="relay-b") is True
    assert [r.body for r in outbox.for_recipient(db, ADA)] == ["late"]


def test_a_github_delivery_is_handled_by_one_relay_and_fenced(db: Database) -> None:
    """Two relays racing for a delivery: one claim wins; after it lapses the other takes it
    and the first relay's late message is refused."""
    user = users.add_user(db, ADA, "Ada")
    github.record_delivery(db, "d-1", user.id, "ada/app", "ping", {})
    clock = ManualClock()
    assert github.claim(db, "d-1", "relay-a", 0.2, now=clock.now())
    assert not github.claim(db, "d-1", "relay-b", 30, now=clock.now())
    assert github.due(db, now=clock.now()) == []  # claimed: no other relay sees it
    clock.advance(0.3)
    assert github.claim(db, "d-1", "relay-b", 30, now=clock.now())
    draft = [OutboundDraft(key="gh:d-1", to=ADA, body="late")]
    assert github.finish(db, "d-1", draft, None, "relay-a") is False
    assert github.finish(db, "d-1", [], None, "relay-b") is True
    assert outbox.for_recipient(db, ADA) == []


def test_a_setup_whose_relay_died_is_taken_once_and_fenced(db: Database) -> None:
    """A signup left `provisioning` by a dead relay is taken by one other relay once its
    lease lapses; the dead relay's late step is refused."""
    user = users.add_user(db, ADA, "Ada", status="pending")
    clock = ManualClock()
    users.start_setup(db, user.id, "relay-a", 0.2, "Saving your keys", now=clock.now())
    assert users.take_stalled_setup(db, "relay-b", 30, now=clock.now()) is None  # A is alive
    clock.advance(0.3)
    taken = users.take_stalled_setup(db, "relay-b", 30, now=clock.now())
    assert taken is not None and taken.id == user.id
    assert users.take_stalled_setup(db, "relay-c", 30, now=clock.now()) is None
    assert not users.setup_progress(db, user.id, "relay-a", step="Done", status="active")
    assert users.setup_progress(db, user.id, "relay-b", step="Done", status="active", done=True)
    assert users.find_by_id(db, user.id).status == "active"  # type: ignore[union-attr]


def test_a_stopping_relay_hands_back_every_claim_at_once(db: Database) -> None:
    """`release_all` frees the inbound message, host and setup a relay held, so another
    relay takes them without waiting out a lease."""
    user = users.add_user(db, ADA, "Ada")
    record = _message(db, user.id)
    assert inbox.claim(db, record, "relay-a", 300) is not None
    assert hosts.take_lease(db, user.id, "relay-a", 300)
    other = users.add_user(db, "+15551230002", "Bob", status="pending")
    users.start_setup(db, other.id, "relay-a", 300, "Saving your keys")
    released = leases.release_all(db, "relay-a")
    assert released == {"inbox": 1, "host": 1, "setup": 1}
    assert inbox.claim(db, record, "relay-b", 30) is not None
    assert hosts.take_lease(db, user.id, "relay-b", 30)
    assert users.take_stalled_setup(db, "relay-b", 30) is not None

"""The sender against a misbehaving Twilio: retries, waits, and never a second copy."""

from __future__ import annotations

from cockpit.store import outbox
from tests.live import wait_until
from tests.relay.conftest import ADA, Stack


def _delivered(stack: Stack) -> list[str]:
    return [m.body for m in stack.received()]


def test_two_500s_then_success_deliver_exactly_one_message(stack: Stack) -> None:
    """Twilio failing twice with 500 and then accepting yields one delivered message."""
    stack.sim.faults.fail_next, stack.sim.faults.fail_status = 2, 500
    stack.send("persist")
    stack.wait_received(1)
    wait_until(lambda: [r.status for r in outbox.for_recipient(stack.db, ADA)] == ["read"])
    stack.wait_settled()
    assert _delivered(stack) == ["persist"]
    assert [a.status for a in stack.sim.attempts] == [500, 500, 201]


def test_a_429_with_retry_after_is_waited_out(stack: Stack) -> None:
    """After a 429 the next try comes no sooner than Retry-After says."""
    faults = stack.sim.faults
    faults.fail_next, faults.fail_status, faults.retry_after = 1, 429, 1.0
    stack.send("patience")
    stack.wait_received(1)
    first, second = stack.sim.attempts
    assert first.status == 429 and second.status == 201
    assert second.monotonic - first.monotonic >= 1.0
    assert _delivered(stack) == ["patience"]


def test_a_send_lost_on_the_way_is_sent_again_once(stack: Stack) -> None:
    """A request that never reached Twilio (held, then 503) is retried and arrives once."""
    stack.sim.faults.hang_next, stack.sim.faults.hang_seconds = 1, 3.0
    stack.send("through the storm")
    stack.wait_received(1, timeout=20)
    stack.wait_settled()
    assert _delivered(stack) == ["through the storm"]


def test_a_send_twilio_took_but_never_answered_is_not_sent_twice(stack: Stack) -> None:
    """When Twilio created the message but the answer timed out, the retry finds it."""
    stack.sim.faults.accept_then_hang_next, stack.sim.faults.hang_seconds = 1, 5.0
    stack.sim.faults.drop_callbacks = 3  # no callback tells the relay: it must look it up
    stack.send("exactly once")
    stack.send("and in order")
    stack.wait_received(2, timeout=20)
    stack.wait_settled()
    assert _delivered(stack) == ["exactly once", "and in order"]
    rows = outbox.for_recipient(stack.db, ADA)
    assert rows[0].attempts >= 2 and rows[0].provider_sid == stack.received()[0].sid


def test_messages_to_one_phone_arrive_in_the_order_written(stack: Stack) -> None:
    """Ten quick messages come back in the order they were sent, despite a failure."""
    stack.sim.faults.fail_next = 1
    for i in range(10):
        stack.send(f"message {i}")
    stack.wait_received(10, timeout=30)
    assert _delivered(stack) == [f"message {i}" for i in range(10)]


def test_a_refused_message_is_recorded_as_failed_with_its_code(stack: Stack) -> None:
    """Twilio's permanent errors are not retried; the row keeps the error code."""
    stack.sim.faults.fail_next, stack.sim.faults.fail_status = 1, 400
    stack.send("refused")
    wait_until(lambda: [r.status for r in outbox.for_recipient(stack.db, ADA)] == ["failed"])
    row = outbox.for_recipient(stack.db, ADA)[0]
    assert row.attempts == 1 and row.last_error and "400" in row.last_error

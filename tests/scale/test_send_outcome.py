"""A send whose answer is lost after Twilio took it, and reported it by status callback.

Found by the three-relay test under load (sends timing out while the simulator was
starved of CPU); pinned here with one relay, deterministically. Before the fix the
relay sent the message a second time: the retry overwrote the state the callbacks had
set, and reconciliation ignored the row's own sid.
"""

from __future__ import annotations

from cockpit.store import outbox
from tests.live import wait_until
from tests.relay.conftest import ADA, Stack


def test_a_lost_answer_after_the_callbacks_came_is_not_sent_again(stack: Stack) -> None:
    """Twilio took the message and said so by callback, but its answer never came: the
    phone still gets the message once, and the next one after it."""
    stack.sim.faults.accept_then_hang_next, stack.sim.faults.hang_seconds = 1, 5.0
    stack.send("exactly once")
    stack.send("and in order")
    wait_until(lambda: len(stack.received()) >= 2, timeout=20)
    stack.wait_settled()  # a second copy would have been sent by now
    assert [m.body for m in stack.received()] == ["exactly once", "and in order"]
    assert outbox.for_recipient(stack.db, ADA)[0].provider_sid == stack.received()[0].sid

"""Lost status callbacks: the relay asks Twilio for the status instead."""

from __future__ import annotations

from pathlib import Path

from cockpit.store import outbox
from tests.live import wait_until
from tests.relay.conftest import ADA, running_stack


def test_a_message_whose_callbacks_were_lost_is_looked_up(db_url: str, tmp_path: Path) -> None:
    """With every status callback dropped, the reply still ends `read` and nothing is pending."""
    with running_stack(db_url, tmp_path / "data", status_check_seconds=0.3) as stack:
        stack.sim.faults.drop_callbacks = 3  # sent, delivered and read: none reaches the relay
        stack.send("are you there?")
        [reply] = stack.wait_received(1)
        wait_until(lambda: [r.status for r in outbox.for_recipient(stack.db, ADA)] == ["read"])
        assert stack.sim.faults.drop_callbacks == 0  # all three were dropped
        assert outbox.pending_count(stack.db) == 0
        assert outbox.for_recipient(stack.db, ADA)[0].provider_sid == reply.sid
        assert stack.bodies() == [reply.body] and "are you there?" in reply.body

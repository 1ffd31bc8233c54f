"""A signup whose relay died while setting it up is finished by another relay."""

from __future__ import annotations

from cockpit.core import signup
from cockpit.store import users
from tests.live import wait_until
from tests.relay.conftest import Stack

BOB = "+15551230077"


def test_a_setup_left_by_a_dead_relay_finishes_on_another(stack: Stack) -> None:
    """A signup stuck at "Starting your workspace" because its relay died (its claim no
    longer renewed) is taken over by the running relay: the user is activated and welcomed."""
    bob = users.add_user(stack.db, BOB, "Bob", status="pending")
    users.start_setup(stack.db, bob.id, "relay-that-died", 0.5, "Starting your workspace")
    welcomed = wait_until(
        lambda: [m for m in stack.sim.messages(BOB) if m.direction != "inbound"], timeout=20
    )
    assert [m.body for m in welcomed] == [signup.WELCOME]
    me = users.find_by_id(stack.db, bob.id)
    assert me is not None and (me.status, me.setup_step) == ("active", "Done")

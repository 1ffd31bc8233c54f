"""Every registered command has exactly one handler, and no handler answers a stranger."""

from __future__ import annotations

import pytest

from cockpit.core.commands import REGISTRY
from cockpit.relay.commands import HANDLERS, handles


def test_every_registered_command_has_a_handler_and_every_handler_a_command() -> None:
    """The command registry and the handlers name the same commands."""
    assert set(HANDLERS) == {c.name for c in REGISTRY}


def test_a_handler_for_an_unregistered_command_or_an_alias_is_refused() -> None:
    """`@handles` fails at import time for a name /help would not list, or a second one."""
    for name in ("deploy", "resume", "status"):
        with pytest.raises(LookupError):
            handles(name)

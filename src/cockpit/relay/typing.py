"""WhatsApp's typing indicator while Claude works, instead of an "👀 on it" message.

`start` shows it for the message that began a turn (Twilio marks that message read
and shows "typing…" until the next message or 25 seconds) and keeps it alive: every
`COCKPIT_TYPING_RENEW_SECONDS` while the turn runs and nothing waits on the user (an
open approval or question shows no "typing…"). A refused or failed call is logged and
answered with False, so the caller sends the text instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from cockpit.errors import ChannelError, StoreError
from cockpit.log import get_logger
from cockpit.store import hosts, users

if TYPE_CHECKING:
    from cockpit.relay.runtime import Relay

log = get_logger(__name__)
WORKING = ("submitted", "running")


def is_message_sid(value: str) -> bool:
    """Whether `value` looks like a Twilio message SID (SM…/MM…), the indicator's key."""
    return value[:2] in ("SM", "MM") and value.isascii() and value.isalnum() and len(value) <= 64


def message_of(turn_id: str) -> str:
    """The inbound message behind a turn: its id, or the part before `-retry`/`-fix`."""
    return turn_id.partition("-")[0]


class Typing:
    """Shows and renews the typing indicator of running turns; owns the renewal tasks."""

    def __init__(self, relay: Relay):
        self.relay = relay
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def show(self, message_sid: str) -> bool:
        """Show "typing…" once for `message_sid`; False (logged) when it was not accepted."""
        if not self.relay.settings.typing_indicator or not is_message_sid(message_sid):
            return False
        try:
            await self.relay.channel.typing(message_sid)
        except ChannelError as exc:
            log.warning("typing.refused", message_sid=message_sid, error=str(exc), code=exc.code)
            return False
        return True

    async def start(self, phone: str, turn_id: str) -> bool:
        """Show the indicator for the turn's message and keep it up while the turn runs."""
        if not await self.show(message_of(turn_id)):
            return False
        self.stop(turn_id)
        self._tasks[turn_id] = asyncio.create_task(self._renew(phone, turn_id))
        return True

    def stop(self, turn_id: str) -> None:
        """Stop renewing the turn's indicator (it ended)."""
        task = self._tasks.pop(turn_id, None)
        if task is not None:
            task.cancel()

    async def aclose(self) -> None:
        """Cancel every renewal."""
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _renew(self, phone: str, turn_id: str) -> None:
        try:
            while True:
                await asyncio.sleep(self.relay.settings.typing_renew_seconds)
                state = await self.relay.store(hosts.turn_state, turn_id)
                if state not in WORKING:
                    return
                waits = await self._waits_on_user(phone)
                if not waits and not await self.show(message_of(turn_id)):
                    return
        except StoreError as exc:
            log.warning("typing.renew_stopped", turn_id=turn_id, error=str(exc))
        finally:
            with contextlib.suppress(KeyError):
                if self._tasks.get(turn_id) is asyncio.current_task():
                    del self._tasks[turn_id]

    async def _waits_on_user(self, phone: str) -> bool:
        user = await self.relay.store(users.find_by_phone, phone)
        if user is None:
            return False
        return await self.relay.store(hosts.open_prompt, user.id) is not None

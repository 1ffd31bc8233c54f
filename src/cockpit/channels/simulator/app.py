"""The phone simulator: a WhatsApp-like page and a stand-in for Twilio, in one object.

`PhoneSimulator.router` carries every route (the Messages API fake under
`/2010-04-01/...` and the phone page under `/phone`); mount it into the relay
(`cockpit up`) or run it alone with `create_simulator_app` (tests, demos).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, FastAPI

from cockpit.channels.simulator.api import basic_credentials, build_api_router, same_secret
from cockpit.channels.simulator.content import build_content_router
from cockpit.channels.simulator.guard import SimulatorGuard
from cockpit.channels.simulator.phone import build_phone_router
from cockpit.channels.simulator.state import Faults, SendAttempt, SimMessage, SimState, utcnow
from cockpit.channels.simulator.webhooks import Courier
from cockpit.core.phone import normalize_e164, to_whatsapp
from cockpit.headers import SecurityHeaders
from cockpit.log import get_logger

log = get_logger(__name__)

Contacts = Callable[[], list[tuple[str, str]]]
WINDOW = timedelta(hours=24)  # WhatsApp's customer-service window


class PhoneSimulator:
    """Simulated WhatsApp phones talking to the relay through a fake of Twilio."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        whatsapp_from: str,
        webhook_url: str,
        contacts: Contacts | None = None,
        callback_delay: float = 0.05,
        templates: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] = utcnow,
        trusted_hosts: Sequence[str] = (),
        api_base_url: str | None = None,
        first_contact_open: bool = True,
    ) -> None:
        self.account_sid = account_sid
        self.whatsapp_from = to_whatsapp(whatsapp_from)
        self.webhook_url = webhook_url
        # Where the relay reaches this fake (TWILIO_API_BASE_URL): media URLs point there.
        self.api_base_url = api_base_url
        self._auth_token = auth_token
        self._contacts = contacts
        self._default_delay = callback_delay
        # Approved WhatsApp templates by Content SID (HX…), with {{1}}-style variables.
        self.templates: dict[str, str] = dict(templates or {})
        # Content resources created through the Content API (`POST /v1/Content`), by HX
        # sid: unapproved, so WhatsApp takes them inside the 24-hour window only.
        self.contents: dict[str, dict[str, Any]] = {}
        # When the window is judged; tests move it forward instead of waiting a day.
        self.clock = clock
        # False: as on real WhatsApp, a number that never wrote gets no free-form message.
        self.first_contact_open = first_contact_open
        self.state = SimState()
        self.faults = Faults(callback_delay=callback_delay)
        self.courier = Courier(
            account_sid=account_sid, auth_token=auth_token, state=self.state, faults=self.faults
        )
        self._release: asyncio.Event | None = None
        # Loopback names, the webhook's host and `trusted_hosts` only; no cross-site writes.
        self.guard = SimulatorGuard(webhook_url, trusted_hosts)
        self.router = APIRouter(dependencies=[Depends(self.guard)])
        self.router.include_router(build_api_router(self))
        self.router.include_router(build_content_router(self))
        self.router.include_router(build_phone_router(self))

    @property
    def attempts(self) -> list[SendAttempt]:
        """Every request to the create endpoint so far, in arrival order."""
        return self.state.attempts

    def messages(self, number: str | None = None) -> list[SimMessage]:
        """The messages of one phone number (all when None), both directions, oldest first."""
        return list(self.state.thread(None if number is None else normalize_e164(number)))

    def contacts(self) -> list[tuple[str, str]]:
        """The (E.164 number, name) pairs the page offers; empty if the source fails."""
        if self._contacts is None:
            return []
        try:
            return list(self._contacts())
        except Exception:  # the page must still open when the user list is unavailable
            log.error("simulator.contacts_failed", exc=True)
            return []

    def window_open(self, number: str) -> bool:
        """Whether WhatsApp takes a free-form message to `number` now.

        A number the simulator has not heard from counts as open unless
        `first_contact_open` is False (as on WhatsApp): the simulator forgets everything
        when it restarts, while the relay remembers."""
        last = self.state.last_inbound.get(normalize_e164(number))
        if last is None:
            return self.first_contact_open
        return self.clock() - last < WINDOW

    def set_window_age(self, number: str, seconds: float) -> None:
        """Pretend `number` last wrote `seconds` ago (25 h: the window is closed)."""
        self.state.last_inbound[normalize_e164(number)] = self.clock() - timedelta(seconds=seconds)

    def authorized(self, header: str | None) -> bool:
        """Whether an Authorization header carries this account's SID and auth token."""
        credentials = basic_credentials(header)
        if credentials is None:
            return False
        user, password = credentials
        return same_secret(user, self.account_sid) and same_secret(password, self._auth_token)

    async def wait_release(self, seconds: float) -> bool:
        """Hold a request until `release()` or for `seconds`; True when released."""
        if self._release is None:
            self._release = asyncio.Event()
        try:
            await asyncio.wait_for(self._release.wait(), seconds)
        except TimeoutError:
            return False
        return True

    def release(self) -> None:
        """Let every request held by a hang fault answer now."""
        if self._release is not None:
            self._release.set()
            self._release = None

    def reset(self) -> None:
        """Forget all messages and attempts, and set every fault knob back to its default."""
        self.release()
        self.state.clear()
        self.contents.clear()
        self.faults.update(Faults(callback_delay=self._default_delay).as_json())
        self.state.close_listeners()

    async def aclose(self) -> None:
        """Release held requests, end live streams, cancel deliveries, close HTTP clients."""
        self.release()
        self.state.close_listeners()
        await self.courier.aclose()


def create_simulator_app(sim: PhoneSimulator) -> FastAPI:
    """A standalone app serving only the simulator; closes it on shutdown."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await sim.aclose()

    app = FastAPI(title="cockpit phone simulator", lifespan=lifespan)
    app.add_middleware(SecurityHeaders)
    app.include_router(sim.router)
    return app

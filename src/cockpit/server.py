"""Assembles the server: the relay's parts, its routes, the web and admin pages, and the
workers its lifespan owns.

The one module that knows every package: `relay/` never imports `web/` or `admin/`;
they import the relay (tests/test_imports.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from cockpit.admin import build_admin_router
from cockpit.channels.twilio import TwilioChannel
from cockpit.config import Settings
from cockpit.core.clock import Clock, SystemClock
from cockpit.errors import StoreError
from cockpit.headers import SecurityHeaders
from cockpit.media.signing import MediaSigner
from cockpit.media.store import LocalImageStore
from cockpit.provision.factory import build_provisioner
from cockpit.relay.agents import Agent, EchoAgent
from cockpit.relay.dispatcher import Dispatcher
from cockpit.relay.github.routes import router as github_router
from cockpit.relay.github.worker import GitHubWorker
from cockpit.relay.heartbeat import Heartbeat, Leases
from cockpit.relay.host_agent import HostAgent
from cockpit.relay.hosts import HostManager
from cockpit.relay.routes import router, store_unavailable
from cockpit.relay.runtime import Relay
from cockpit.relay.sender import Sender
from cockpit.relay.shutdown import stop_gracefully
from cockpit.relay.status_check import StatusChecker
from cockpit.relay.workers import TaskGroup
from cockpit.store.db import Database
from cockpit.web import mount_web
from cockpit.web.setup import SetupResumer


def build_relay(settings: Settings, clock: Clock | None = None) -> Relay:
    """The relay's parts for `settings` (already checked for what the relay needs), all
    reading time from `clock` (the machine's unless a test hands one)."""
    settings.require(
        "public_url", "secret_key", "twilio_account_sid", "twilio_auth_token",
        "twilio_whatsapp_from",
    )  # fmt: skip
    assert settings.twilio_auth_token and settings.secret_key
    channel = TwilioChannel(
        account_sid=settings.twilio_account_sid or "",
        auth_token=settings.twilio_auth_token.get_secret_value(),
        from_=settings.twilio_whatsapp_from or "",
        base_url=settings.twilio_api_base_url,
        timeout=settings.send_timeout_seconds,
        media_base_url=settings.twilio_media_base_url,
        content_base_url=settings.twilio_base("content"),
        messaging_base_url=settings.twilio_base("messaging"),
    )
    clock = clock or SystemClock()
    return Relay(
        settings=settings,
        db=Database(settings.effective_database_url, wait_seconds=settings.database_wait_seconds),
        channel=channel,
        images=LocalImageStore(settings.data_dir / "media"),
        signer=MediaSigner(
            settings.secret_key.get_secret_value(), settings.media_url_ttl_seconds, clock=clock
        ),
        clock=clock,
    )


def default_agent(relay: Relay) -> tuple[Agent, HostManager | None]:
    """The agent the settings ask for, and the host manager behind it (if any)."""
    if relay.settings.agent == "echo":
        return EchoAgent(), None
    manager = HostManager(relay, build_provisioner(relay.settings))
    return HostAgent(manager), manager


def create_app(
    relay: Relay,
    *,
    agent: Agent | None = None,
    extra_routers: list[Any] | None = None,
    closers: Sequence[Callable[[], Awaitable[None]]] = (),
    production: bool = False,
) -> FastAPI:
    """The server's app: relay routes, web and admin pages; its lifespan runs the workers.

    `closers` are awaited at shutdown, after the workers stop (e.g. the simulator's).
    `production` (`cockpit relay`) serves no /docs or /openapi.json, and /metrics only
    with COCKPIT_METRICS_TOKEN (docs/security.md).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        workers = TaskGroup()
        chosen, manager = (agent, None) if agent else default_agent(relay)
        app.state.hosts = manager  # the admin's hosts page asks it for each host's state
        if manager is not None:
            workers.start("hosts", manager.start_all)
        dispatcher = Dispatcher(relay, chosen)
        workers.start("dispatcher", dispatcher.run)
        workers.start("sender", Sender(relay).run)
        workers.start("status_check", StatusChecker(relay).run)
        workers.start("heartbeat", Heartbeat(relay).run)
        workers.start("leases", Leases(relay).run)
        workers.start("github", GitHubWorker(relay, manager).run)
        workers.start("setup", SetupResumer(relay, relay.jobs, manager).run)
        if relay.db.is_postgres:
            # Imported here: psycopg alone is 7.7 MiB of an idle SQLite relay's memory.
            from cockpit.relay.wakeup import Wakeup

            workers.start("wakeup", Wakeup(relay).run)
        try:
            yield
        finally:
            await stop_gracefully(relay, workers)
            await relay.typing.aclose()
            if manager is not None:
                await manager.aclose()
            for close in closers:
                await close()
            await relay.channel.aclose()
            relay.db.dispose()

    hidden: dict[str, Any] = (
        {"openapi_url": None, "docs_url": None, "redoc_url": None} if production else {}
    )
    app = FastAPI(title="cockpit relay", lifespan=lifespan, **hidden)
    app.add_middleware(SecurityHeaders)
    app.state.relay = relay
    app.state.production = production
    app.state.hosts = None  # the HostManager, once the lifespan has made it
    app.state.jobs = relay.jobs  # the pages' jobs are the relay's: its stop cancels them
    app.add_exception_handler(StoreError, store_unavailable)
    app.include_router(router)
    app.include_router(github_router)
    app.include_router(build_admin_router())
    mount_web(app)
    for extra in extra_routers or []:
        app.include_router(extra)
    return app

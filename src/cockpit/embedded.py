"""`cockpit up`: relay, phone simulator and agent on one port with SQLite defaults."""

from __future__ import annotations

import hashlib

from fastapi import FastAPI
from pydantic import SecretStr

from cockpit.channels.simulator import PhoneSimulator
from cockpit.config import Settings
from cockpit.core.window import REOPEN_TEXT
from cockpit.server import build_relay, create_app
from cockpit.store import users

SIMULATOR_FROM = "whatsapp:+14155238886"
DEMO_PHONE, DEMO_NAME = "+15550001111", "You"


def prepare_local(settings: Settings, host: str, port: int) -> None:
    """Fill in what `cockpit up` needs and the user did not configure."""
    settings.ensure_secret_key()
    if not settings.public_url:
        settings.public_url = f"http://{host}:{port}"
    if settings.uses_twilio:
        return
    assert settings.secret_key is not None
    seed = hashlib.sha256(settings.secret_key.get_secret_value().encode()).hexdigest()
    settings.twilio_account_sid = "AC" + seed[:32]
    settings.twilio_auth_token = SecretStr(seed[32:64])
    settings.twilio_whatsapp_from = SIMULATOR_FROM
    settings.twilio_api_base_url = settings.public_url
    if not settings.twilio_content_sid_reopen:  # the simulator approves this template
        settings.twilio_content_sid_reopen = "HX" + hashlib.sha256(seed.encode()).hexdigest()[:32]


def create_local_app(settings: Settings) -> tuple[FastAPI, PhoneSimulator | None]:
    """The relay app, with the phone simulator mounted when Twilio is not configured."""
    relay = build_relay(settings)
    relay.db.check()  # a damaged SQLite file must not acknowledge webhooks (StoreError)
    if users.list_users(relay.db) == []:
        users.add_user(relay.db, DEMO_PHONE, DEMO_NAME)
    simulator = None
    routers, closers = [], []
    if not settings.uses_twilio or settings.twilio_api_base_url == settings.public_url:
        assert settings.twilio_auth_token is not None
        simulator = PhoneSimulator(
            account_sid=settings.twilio_account_sid or "",
            auth_token=settings.twilio_auth_token.get_secret_value(),
            whatsapp_from=settings.twilio_whatsapp_from or SIMULATOR_FROM,
            webhook_url=f"{settings.public_url}/twilio/messages",
            contacts=lambda: [(u.phone, u.name) for u in users.list_users(relay.db)],
            templates=_templates(settings),
            api_base_url=settings.twilio_api_base_url,
        )
        routers.append(simulator.router)
        closers.append(simulator.aclose)
    app = create_app(relay, extra_routers=routers, closers=closers)
    return app, simulator


def _templates(settings: Settings) -> dict[str, str]:
    """The WhatsApp templates the simulator knows: the one that re-opens the window, and
    the authentication template when one is configured (codes typed on the pages)."""
    known = {}
    if settings.twilio_content_sid_reopen:
        known[settings.twilio_content_sid_reopen] = REOPEN_TEXT
    if settings.twilio_content_sid_verify:
        known[settings.twilio_content_sid_verify] = VERIFY_TEXT
    return known


VERIFY_TEXT = "{{1}} is your verification code. For your security, do not share this code."

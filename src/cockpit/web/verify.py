"""Proving a phone number on the pages, for signup and for signing in.

By default the person proves it with their own WhatsApp message (click-to-chat): the
page shows a one-time code, a `wa.me` link that opens WhatsApp with it typed, and a
QR code of that link for a desktop; the relay's inbound path recognises the code
(`relay.ingress`), which also opens WhatsApp's 24-hour window, and the page moves on.
With an authentication template configured (`TWILIO_CONTENT_SID_VERIFY`) the relay
sends the code to the phone instead and the person types it.

Every start is counted against limits per session, address (and invite) in the
database, the same for numbers with and without an account.
"""

from __future__ import annotations

import hashlib
import secrets as random
from dataclasses import dataclass
from typing import Any

import segno

from cockpit.core import signup
from cockpit.store import phone_codes, phone_proofs, throttles
from cockpit.web import setup
from cockpit.web.pages import Web


@dataclass(frozen=True)
class Refused(Exception):
    """Nothing was sent or shown: the status and the sentence to show."""

    status: int
    text: str


def typed(web: Web) -> bool:
    """Whether codes are sent to the phone to type (a template is configured)."""
    return bool(web.settings.twilio_content_sid_verify)


def _buckets(web: Web, purpose: str, invite: str | None) -> list[tuple[str, int, float]]:
    limits = signup.SIGNUP_LIMITS if purpose == "signup" else signup.LOGIN_LIMITS
    keys = {"session": web.session.sid, "address": web.address}
    if invite is not None:
        keys["invite"] = hashlib.sha256(invite.encode()).hexdigest()[:32]
    return [(f"{purpose}:{lim.scope}:{keys[lim.scope]}", lim.count, lim.seconds)
            for lim in limits if lim.scope in keys]  # fmt: skip


async def start(
    web: Web,
    phone: str,
    purpose: str,
    *,
    invite: str | None = None,
    send: bool = True,
    again: bool = False,
) -> None:
    """Begin proving `phone` in this session; Refused when a limit says no.

    `send` False (a sign-in for a number without an account, typed mode) keeps a code
    that is never sent, so that the answer and the limits are the same as for a known one.
    `again` (a new code for the same number) is limited by the number's own backoff only.
    """
    buckets = [] if again else _buckets(web, purpose, invite)
    if buckets and not await web.relay.store(throttles.hit, buckets, now=web.relay.clock.now()):
        raise Refused(429, signup.TOO_MANY)
    nonce = random.token_urlsafe(16)
    try:
        if typed(web):
            await setup.send_code(web.relay, phone, purpose, send=send)
        else:
            await web.relay.store(phone_proofs.issue, phone, purpose,
                            _digest(web, phone, _code(web, nonce, phone)),
                            ttl=signup.CODE_TTL_SECONDS,
                            now=web.relay.clock.now())  # fmt: skip
    except phone_codes.TooSoonError as exc:
        raise Refused(429, str(exc)) from None
    web.session.update(phone=phone, purpose=purpose, nonce=nonce)


def _code(web: Web, nonce: str, phone: str) -> str:
    return signup.session_code(web.secret, nonce, phone)


def _digest(web: Web, phone: str, code: str) -> str:
    return signup.code_digest(web.secret, phone, code)


def pending(web: Web, purpose: str) -> str | None:
    """The phone this session is proving for `purpose`, if any."""
    phone = web.session.get("phone")
    ok = isinstance(phone, str) and web.session.get("purpose") == purpose
    return phone if ok and isinstance(phone, str) else None


def shown(web: Web, phone: str) -> dict[str, Any]:
    """What the code page shows: the code, its click-to-chat link and QR (or the typed form)."""
    if typed(web):
        return {"phone": phone, "typed": True}
    code = _code(web, str(web.session.get("nonce", "")), phone)
    link = signup.chat_link(web.settings.twilio_whatsapp_from, code)
    qr = segno.make(link, error="m").svg_inline(scale=5, dark="#111", light="#fff")
    sender = (web.settings.twilio_whatsapp_from or "").removeprefix("whatsapp:")
    return {"phone": phone, "typed": False, "code": code, "link": link, "qr": qr,
            "sender": sender}  # fmt: skip


async def proven(web: Web, phone: str) -> phone_proofs.Proven | None:
    """The proof, once the phone has sent this page's code (click-to-chat); used up."""
    digest = _digest(web, phone, _code(web, str(web.session.get("nonce", "")), phone))
    return await web.relay.store(phone_proofs.take, phone, digest)

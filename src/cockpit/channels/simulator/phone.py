"""The phone page (`/phone`) and its JSON and live (SSE) API.

The page is plain HTML, CSS and JavaScript from `static/`, with no build step and
nothing fetched from elsewhere. A message typed on the page becomes a signed
Twilio webhook to the relay; messages the relay sends through the Messages API
appear on the page live. Fault knobs and test helpers live under `/phone/api/`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import AsyncIterable
from importlib.resources import files
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, Field

from cockpit.channels.simulator.resources import messages_path
from cockpit.channels.simulator.state import (
    INBOUND,
    SimMedia,
    SimMessage,
    TypingChange,
    new_sid,
)
from cockpit.channels.simulator.webhooks import inbound_params
from cockpit.core.phone import normalize_e164, to_whatsapp

if TYPE_CHECKING:
    from cockpit.channels.simulator.app import PhoneSimulator

STATIC = files("cockpit.channels.simulator") / "static"
ASSETS = {"phone.css": "text/css", "phone.js": "text/javascript", "voice.js": "text/javascript"}
MAX_MEDIA_BYTES = 5 * 1024 * 1024  # Twilio's limit for an image
MAX_AUDIO_BYTES = 16 * 1024 * 1024  # WhatsApp's limit for audio (voice notes)
MAX_BODY = 4096  # WhatsApp's limit for a text message
STREAM_SECONDS = 15.0  # streams end now and then, so that a server can always shut down


class SendRequest(BaseModel):
    """A message typed on the page: `media` is an image or audio as a `data:` URL."""

    from_: str = Field(alias="from")
    body: str = Field(default="", max_length=MAX_BODY)
    reply_to: str | None = None
    profile_name: str | None = None
    media: str | None = None


class TapRequest(BaseModel):
    """A tap on a button (or list item) of message `sid`: `id` is the button's id."""

    from_: str = Field(alias="from")
    sid: str
    id: str = Field(max_length=200)


class WindowRequest(BaseModel):
    """Pretend a phone last wrote `age_seconds` ago (over 86400: its window is closed)."""

    number: str
    age_seconds: float = Field(ge=0, le=10 * 365 * 86400)


def phone_number(number: Annotated[str, Query(description="E.164 number of the phone")]) -> str:
    """The `number` query parameter as E.164; a `+` decoded to a space is restored."""
    raw = number.strip()
    try:
        return normalize_e164(raw if raw.startswith("+") else "+" + raw)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc


Number = Annotated[str, Depends(phone_number)]


def page_json(message: SimMessage) -> dict[str, Any]:
    """A message as the page shows it: `side` is `out` for the phone's own messages."""
    return {
        "sid": message.sid,
        "side": "out" if message.direction == INBOUND else "in",
        "number": message.number,
        "body": message.body,
        "media": [
            {
                "id": m.id,
                "url": f"/phone/media/{m.id}" if m.data else None,
                "content_type": m.content_type,
            }
            for m in message.media
        ],
        "status": message.status,
        "error_code": message.error_code,
        "error_message": message.error_message,
        "reply_to": message.reply_to,
        "relay_status": message.relay_status,
        "relay_error": message.relay_error,
        "time": message.date_created.isoformat(),
        "template": message.content_sid is not None,
        "buttons": message.buttons,
        "list_button": message.list_button,
        "button_payload": message.button_payload,
    }


def typing_json(change: TypingChange) -> dict[str, Any]:
    """The phone header's "typing…" state."""
    return {"number": change.number, "until": change.until.isoformat() if change.until else None}


def decode_data_url(data_url: str) -> SimMedia:
    """An image or audio from a `data:<type>;base64,...` URL; HTTP 422 when it is not one.

    Audio is what WhatsApp sends for a voice note (`audio/ogg`, Opus) or an audio file
    (AMR, AAC, MPEG…); a recording's codec parameter (`audio/ogg;codecs=opus`) is dropped."""
    header, _, payload = data_url.partition(",")
    content_type = header.removeprefix("data:").removesuffix(";base64").split(";")[0]
    if not header.startswith(("data:image/", "data:audio/")) or not header.endswith(";base64"):
        raise HTTPException(422, "media must be an image or audio as a base64 data: URL")
    try:
        data = base64.b64decode(payload, validate=True)
    except binascii.Error as exc:
        raise HTTPException(422, "media is not valid base64") from exc
    audio = content_type.startswith("audio/")
    limit = MAX_AUDIO_BYTES if audio else MAX_MEDIA_BYTES
    if not data or len(data) > limit:
        raise HTTPException(
            422, f"{'audio' if audio else 'an image'} must be 1 byte to {limit >> 20} MB"
        )
    return SimMedia(id=new_sid("ME"), content_type=content_type, data=data)


def build_phone_router(sim: PhoneSimulator) -> APIRouter:
    """The page, its assets and its API."""
    router = APIRouter(prefix="/phone", tags=["phone-simulator"])
    _page_routes(router, sim)
    _thread_routes(router, sim)
    _fault_routes(router, sim)
    return router


def _page_routes(router: APIRouter, sim: PhoneSimulator) -> None:
    @router.get("", response_class=HTMLResponse)
    async def page() -> HTMLResponse:
        return HTMLResponse((STATIC / "phone.html").read_text(encoding="utf-8"))

    @router.get("/static/{name}")
    async def asset(name: str) -> Response:
        if name not in ASSETS:
            raise HTTPException(404, "no such file")
        return Response((STATIC / name).read_bytes(), media_type=ASSETS[name])

    @router.get("/media/{media_id}")
    async def media(media_id: str) -> Response:
        item = sim.state.media(media_id)
        if item is None or item.data is None:
            raise HTTPException(404, "no such media")
        kind = item.content_type or "application/octet-stream"
        # an id always names the same bytes, so the page may keep them
        return Response(item.data, media_type=kind, headers={"Cache-Control": "max-age=86400"})

    @router.get("/api/config")
    async def config() -> dict[str, Any]:
        contacts = [{"number": number, "name": name} for number, name in sim.contacts()]
        return {"whatsapp_from": sim.whatsapp_from, "contacts": contacts}


def _thread_routes(router: APIRouter, sim: PhoneSimulator) -> None:
    @router.get("/api/messages")
    async def messages(number: Number) -> list[dict[str, Any]]:
        return [page_json(m) for m in sim.state.thread(number)]

    @router.get("/api/stream", response_class=EventSourceResponse)
    async def stream(number: Number) -> AsyncIterable[ServerSentEvent]:
        queue = sim.state.subscribe(number)
        try:
            snapshot = [page_json(m) for m in sim.state.thread(number)]
            yield ServerSentEvent(event="snapshot", data=snapshot, retry=500)
            until = sim.state.typing_until(number)
            if until is not None:  # "typing…" is on now
                yield ServerSentEvent(event="typing", data=typing_json(TypingChange(number, until)))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + STREAM_SECONDS
            while (left := deadline - loop.time()) > 0:
                try:
                    changed = await asyncio.wait_for(queue.get(), left)
                except TimeoutError:
                    return
                if changed is None:
                    return
                if isinstance(changed, TypingChange):
                    yield ServerSentEvent(event="typing", data=typing_json(changed))
                else:
                    yield ServerSentEvent(event="message", data=page_json(changed))
        finally:
            sim.state.unsubscribe(number, queue)

    @router.post("/api/send")
    async def send(request: Request, payload: SendRequest) -> dict[str, Any]:
        return await _deliver(sim, request, _phone_message(sim, payload))

    @router.post("/api/tap")
    async def tap(request: Request, payload: TapRequest) -> dict[str, Any]:
        return await _deliver(sim, request, _tap_message(sim, payload))


async def _deliver(sim: PhoneSimulator, request: Request, message: SimMessage) -> dict[str, Any]:
    """Put the phone's message in the thread and post its webhook to the relay."""
    replied = sim.state.get(message.reply_to) if message.reply_to else None
    sim.state.add(message)
    sim.state.last_inbound[message.number] = sim.clock()
    # Twilio's media URLs are always on its API host, whatever name the page used.
    origin = sim.api_base_url or str(request.base_url).rstrip("/")
    base = origin + messages_path(sim.account_sid)
    urls = [f"{base}/{message.sid}/Media/{m.id}" for m in message.media]
    params = inbound_params(message, account_sid=sim.account_sid, media_urls=urls, replied=replied)
    await sim.courier.deliver_inbound(message, sim.webhook_url, params)
    return {
        "sid": message.sid,
        "relay_status": message.relay_status,
        "error": message.relay_error,
    }


def _tap_message(sim: PhoneSimulator, payload: TapRequest) -> SimMessage:
    """The reply WhatsApp sends for a tap: the button's title as text, its id as payload,
    quoting the message; only a button that message really has can be tapped."""
    number = phone_number(payload.from_)
    shown = sim.state.get(payload.sid)
    if shown is None or shown.number != number or shown.direction == INBOUND:
        raise HTTPException(422, f"no message {payload.sid} with buttons on this phone")
    button = next((b for b in shown.buttons if b["id"] == payload.id), None)
    if button is None:
        raise HTTPException(422, "that message has no such button")
    names = dict(sim.contacts())
    return SimMessage(
        sid=new_sid("SM"), direction=INBOUND, number=number, from_=to_whatsapp(number),
        to=sim.whatsapp_from, body=button["title"], status="received", reply_to=shown.sid,
        profile_name=names.get(number) or "Simulated phone",
        button_payload=button["id"], button_text=button["title"],
    )  # fmt: skip


def _phone_message(sim: PhoneSimulator, payload: SendRequest) -> SimMessage:
    """The message a phone sends, checked like WhatsApp would before it leaves the phone."""
    number = phone_number(payload.from_)
    media = [decode_data_url(payload.media)] if payload.media else []
    if not payload.body.strip() and not media:
        raise HTTPException(422, "a message needs text, an image or audio")
    if payload.reply_to and sim.state.get(payload.reply_to) is None:
        raise HTTPException(422, f"no message {payload.reply_to} to reply to")
    names = dict(sim.contacts())
    return SimMessage(
        sid=new_sid("MM" if media else "SM"),
        direction=INBOUND,
        number=number,
        from_=to_whatsapp(number),
        to=sim.whatsapp_from,
        body=payload.body,
        media=media,
        status="received",
        reply_to=payload.reply_to,
        profile_name=payload.profile_name or names.get(number) or "Simulated phone",
    )


def _fault_routes(router: APIRouter, sim: PhoneSimulator) -> None:
    @router.get("/api/faults")
    async def faults() -> dict[str, Any]:
        return sim.faults.as_json()

    @router.post("/api/faults")
    async def set_faults(changes: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        try:
            sim.faults.update(changes)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        return sim.faults.as_json()

    @router.get("/api/window")
    async def window(number: Number) -> dict[str, Any]:
        last = sim.state.last_inbound.get(number)
        return {
            "number": number,
            "last_inbound": last.isoformat() if last else None,
            "open": sim.window_open(number),
        }

    @router.post("/api/window")
    async def set_window(payload: WindowRequest) -> dict[str, Any]:
        number = phone_number(payload.number)
        sim.set_window_age(number, payload.age_seconds)
        return {"number": number, "open": sim.window_open(number)}

    @router.post("/api/reset")
    async def reset() -> dict[str, bool]:
        sim.reset()
        return {"ok": True}

    @router.post("/api/release")
    async def release() -> dict[str, bool]:
        sim.release()
        return {"ok": True}

    @router.get("/api/attempts")
    async def attempts() -> list[dict[str, Any]]:
        return [a.as_json() for a in sim.attempts]

"""The relay's HTTP surface: webhooks, media, health and metrics.

The webhook handlers only verify, persist and answer; dispatching and sending
happen in background workers that these handlers merely wake up.
"""

from __future__ import annotations

import hmac
import html
import time

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST
from twilio.twiml.messaging_response import MessagingResponse

from cockpit.channels.twilio import MAX_SID, parse_inbound
from cockpit.errors import InvalidDataError, MediaError, StoreError
from cockpit.log import get_logger
from cockpit.relay import ingress, window
from cockpit.relay.forms import read_form, signed_url
from cockpit.relay.runtime import Relay
from cockpit.relay.workers import in_pool, in_thread
from cockpit.store import hosts, media, outbox

log = get_logger(__name__)
router = APIRouter()
EMPTY_TWIML = str(MessagingResponse())
FULL_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Answer</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;margin:1em;max-width:48em}}
pre{{white-space:pre-wrap;word-wrap:break-word;font:inherit}}
.q{{color:#555;border-left:3px solid #25d366;padding-left:.6em}}</style></head>
<body><p class="q">{question}</p><pre>{answer}</pre></body></html>"""


def _relay(request: Request) -> Relay:
    relay: Relay = request.app.state.relay
    return relay


async def _verified_form(request: Request, relay: Relay) -> dict[str, str]:
    params = await read_form(request, relay.settings.max_request_bytes)
    signature = request.headers.get("x-twilio-signature", "")
    if not relay.channel.is_signed(signed_url(relay.public_url, request), params, signature):
        relay.metrics.inbound.labels("rejected").inc()
        log.warning("webhook.bad_signature", path=request.url.path)
        raise HTTPException(403, "invalid or missing X-Twilio-Signature")
    return params


async def store_unavailable(request: Request, exc: Exception) -> Response:
    """Any route whose database work failed (e.g. PostgreSQL restarting): 503, not a crash;
    a value the database refuses would be refused again: 400."""
    log.error("relay.store_failed", path=request.url.path, error=str(exc))
    if isinstance(exc, InvalidDataError):
        return JSONResponse({"detail": "a value was refused by the database"}, status_code=400)
    return JSONResponse({"detail": "storage unavailable, retry later"}, status_code=503)


@router.post("/twilio/messages", summary="Twilio inbound message webhook")
async def inbound_message(request: Request) -> Response:
    relay = _relay(request)
    with relay.pressure.answering():  # the dispatcher and sender let a burst go first
        return await _inbound(request, relay)


async def _inbound(request: Request, relay: Relay) -> Response:
    started = time.perf_counter()
    params = await _verified_form(request, relay)
    try:
        msg = parse_inbound(params)
    except ValueError as exc:  # WebhookError, or int() of a non-ASCII digit that isdigit() let by
        relay.metrics.inbound.labels("rejected").inc()
        raise HTTPException(400, str(exc)) from None
    try:
        outcome = await in_pool(relay.webhook_pool, ingress.accept, relay, msg)
    except InvalidDataError as exc:
        # The parser keeps every field within its column, so this is a gap in it: the same
        # request would fail on every retry. Logged without the body or the number.
        relay.metrics.inbound.labels("rejected").inc()
        log.error("webhook.invalid_data", sid=msg.sid, error=str(exc))
        raise HTTPException(400, "a field of the message was refused by the database") from None
    except StoreError as exc:
        # Twilio retries on a 5xx, so the message is not lost while the database is away.
        log.error("webhook.store_failed", sid=msg.sid, error=str(exc))
        raise HTTPException(503, "storage unavailable, retry later") from None
    relay.metrics.inbound.labels(outcome).inc()
    relay.metrics.inbound_latency.observe(time.perf_counter() - started)
    log.info("webhook.inbound", sid=msg.sid, outcome=outcome)
    # Held messages a reply released go with the sender's next poll (no wake-up: one
    # more database query per webhook would cost more than it saves).
    (relay.outbox_ready if outcome in ("refused", "proof") else relay.inbox_ready).set()
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post("/twilio/status", summary="Twilio message status callback")
async def status_callback(request: Request) -> Response:
    relay = _relay(request)
    params = await _verified_form(request, relay)
    sid, status = params.get("MessageSid", ""), params.get("MessageStatus", "")
    if not sid or not status:
        raise HTTPException(400, "MessageSid and MessageStatus are required")
    if len(sid) > MAX_SID:  # would not fit the column: no message of ours has it
        raise HTTPException(400, "MessageSid is malformed")
    oid = request.query_params.get("oid", "")
    code = params.get("ErrorCode", "")
    row_id, error_code, status = _small_int(oid), _small_int(code), status.lower()
    found = await in_thread(_record_status, relay, row_id, sid, status, error_code)
    relay.metrics.status_callbacks.labels(status if found else "unmatched").inc()
    log.info("webhook.status", sid=sid, status=status, outbound_id=oid, matched=found)
    relay.outbox_ready.set()
    return Response(status_code=200)


def _record_status(
    relay: Relay, row_id: int | None, sid: str, status: str, code: int | None
) -> bool:
    # One thread hop per callback (three callbacks per message). 63016 (outside WhatsApp's
    # window) holds the message instead of failing it.
    return window.refused_by_callback(relay, row_id, sid, status, code) or outbox.apply_status(
        relay.db, row_id=row_id, sid=sid, status=status, error_code=code
    )


def _small_int(value: str) -> int | None:
    """`value` if it is a plain number that fits any integer column (else None)."""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else None


@router.get("/media/{token}", summary="A stored image or document, by signed token")
async def get_media(token: str, request: Request) -> Response:
    relay = _relay(request)
    media_id = relay.signer.media_id(token)
    record = await relay.store(media.get_media, media_id) if media_id else None
    if record is None:
        raise HTTPException(404, "no such media, or the link expired")
    try:
        path = relay.images.path(record.id)
    except MediaError:
        raise HTTPException(404, "no such media") from None
    if not path.is_file():
        raise HTTPException(404, "media is gone")
    return FileResponse(path, media_type=record.content_type, filename=record.filename)


@router.get("/full/{token}", summary="The full text of an answer, by signed token")
async def full_answer(token: str, request: Request) -> Response:
    relay = _relay(request)
    turn_id = relay.signer.media_id(token, purpose="full")
    turn = await relay.store(hosts.get_turn, turn_id) if turn_id else None
    if turn is None or not turn.answer:
        raise HTTPException(404, "no such answer, or the link expired")
    page = FULL_PAGE.format(question=html.escape(turn.text), answer=html.escape(turn.answer))
    return HTMLResponse(page)


@router.get("/healthz", summary="Liveness and database health")
async def healthz(request: Request) -> Response:
    relay = _relay(request)
    try:
        await in_thread(relay.db.ping)
    except StoreError as exc:
        # The reason (it names the database's host and port) goes to the log only.
        log.error("healthz.database_unavailable", error=str(exc))
        return JSONResponse({"status": "unhealthy", "database": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok", "worker": relay.worker_id})


@router.get("/metrics", summary="Prometheus metrics")
async def metrics(request: Request) -> Response:
    relay = _relay(request)
    token = relay.settings.metrics_token
    if token is not None:
        given = request.headers.get("authorization", "")
        expected = f"Bearer {token.get_secret_value()}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise HTTPException(401, "/metrics needs COCKPIT_METRICS_TOKEN as a bearer token",
                                headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
    elif request.app.state.production:
        raise HTTPException(404, "/metrics is off: set COCKPIT_METRICS_TOKEN to scrape it")
    return PlainTextResponse(relay.metrics.render(), media_type=CONTENT_TYPE_LATEST)

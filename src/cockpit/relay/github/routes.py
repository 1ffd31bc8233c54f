"""`POST /github/webhook`: GitHub's events, verified and kept; the worker tells the phone.

Checks, in order: the headers GitHub always sends (`X-GitHub-Event`,
`X-GitHub-Delivery`, `X-Hub-Signature-256`), JSON, the size cap, the repository
and the HMAC-SHA256 signature under that repository's secret (`401`, nothing kept; an
unlinked repository gets the very same answer, so links cannot be probed). `ping`
answers `200`. Any other event is stored under its delivery id (`202`); a redelivery of
the same id is a no-op (`200`).
"""

from __future__ import annotations

import json
import re
import secrets

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from cockpit.core.github_events import repo_name, signature_ok
from cockpit.errors import SecretKeyError, StoreError
from cockpit.log import get_logger
from cockpit.relay.forms import read_body
from cockpit.relay.runtime import Relay
from cockpit.store import github

log = get_logger(__name__)
router = APIRouter()
_DELIVERY = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_EVENT = re.compile(r"^[a-z_]{1,40}$")
_BAD_SIGNATURE = "X-Hub-Signature-256 does not match this repository's secret"
_UNLINKED = secrets.token_hex(32)  # a secret no delivery is signed with


def _ignored(relay: Relay, reason: str) -> JSONResponse:
    relay.metrics.github.labels("ignored").inc()
    return JSONResponse({"status": "ignored", "reason": reason}, status_code=202)


@router.post("/github/webhook", summary="GitHub webhook (JSON, signed per repository)")
async def github_webhook(request: Request) -> JSONResponse:
    relay: Relay = request.app.state.relay
    event, delivery = _headers(request)
    body = await read_body(request, relay.settings.github_max_request_bytes)
    payload = _payload(request, body)
    full_name = repo_name(payload)
    if full_name is None:
        log.info("github.no_repository", delivery=delivery, github_event=event)
        return _ignored(relay, "the payload names no repository")
    try:
        owner = await relay.store(github.repo_owner, full_name)
        if owner is None:
            # The same answer as a linked repository's bad signature (after the same HMAC
            # work): nobody can tell from outside which repositories are linked here.
            signature_ok(_UNLINKED, body, _signature(request))
            relay.metrics.github.labels("ignored").inc()
            log.warning("github.unknown_repo", repo=full_name, delivery=delivery)
            raise HTTPException(401, _BAD_SIGNATURE)
        assert relay.settings.secret_key is not None
        secret = await relay.store(
            github.webhook_secret, owner, full_name, key=relay.settings.secret_keyring
        )
        if secret is None or not signature_ok(secret, body, _signature(request)):
            relay.metrics.github.labels("rejected").inc()
            log.warning("github.bad_signature", repo=full_name, delivery=delivery)
            raise HTTPException(401, _BAD_SIGNATURE)
        if event == "ping":
            relay.metrics.github.labels("ping").inc()
            log.info("github.ping", repo=full_name, delivery=delivery)
            return JSONResponse({"status": "pong"})
        new = await relay.store(github.record_delivery, delivery, owner, full_name, event, payload)
    except (StoreError, SecretKeyError) as exc:
        # GitHub does not retry by itself, but a 5xx shows in the hook's delivery log.
        log.error("github.store_failed", delivery=delivery, error=str(exc))
        raise HTTPException(503, "storage unavailable, redeliver later") from None
    relay.metrics.github.labels("accepted" if new else "duplicate").inc()
    log.info("github.delivery", repo=full_name, delivery=delivery, github_event=event, new=new)
    relay.github_ready.set()
    if not new:
        return JSONResponse({"status": "duplicate"})
    return JSONResponse({"status": "accepted"}, status_code=202)


def _headers(request: Request) -> tuple[str, str]:
    event = request.headers.get("x-github-event", "")
    delivery = request.headers.get("x-github-delivery", "")
    if not _EVENT.match(event) or not _DELIVERY.match(delivery):
        raise HTTPException(400, "X-GitHub-Event and X-GitHub-Delivery are required")
    if not _signature(request):
        request.app.state.relay.metrics.github.labels("rejected").inc()
        log.warning("github.unsigned", delivery=delivery)
        raise HTTPException(401, "X-Hub-Signature-256 is required: set the webhook's secret")
    return event, delivery


def _signature(request: Request) -> str:
    return request.headers.get("x-hub-signature-256", "")


def _payload(request: Request, body: bytes) -> dict[str, object]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise HTTPException(415, "set the webhook's content type to application/json")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise HTTPException(400, "body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise HTTPException(400, "body is not a JSON object")
    if _has_nul(payload):  # PostgreSQL text refuses NUL: its message could never be stored
        raise HTTPException(400, "NUL characters are not accepted")
    return payload


def _has_nul(value: object) -> bool:
    """Whether any key or string in the JSON value holds a NUL (without recursion)."""
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, str) and "\x00" in item:
            return True
        if isinstance(item, dict):
            todo += [*item.keys(), *item.values()]
        elif isinstance(item, list):
            todo += item
    return False

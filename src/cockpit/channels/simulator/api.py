"""The fake of Twilio's Messages API (2010-04-01): create, list and fetch messages.

It answers as Twilio documents: HTTP basic auth with the account SID and auth
token, form-encoded requests, Twilio's error object and codes, Message resources
with RFC 2822 dates, and list pages newest first. Fault knobs make it fail,
hang or lose responses the way a real network and provider sometimes do.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.datastructures import FormData

from cockpit.channels.simulator.content import Rendered, render
from cockpit.channels.simulator.resources import (
    error_response,
    list_json,
    message_json,
    messages_path,
)
from cockpit.channels.simulator.state import OUTBOUND, SendAttempt, SimMedia, SimMessage, new_sid
from cockpit.core.chunking import utf16_length
from cockpit.core.phone import WHATSAPP_PREFIX, normalize_e164
from cockpit.log import get_logger

if TYPE_CHECKING:
    from cockpit.channels.simulator.app import PhoneSimulator

log = get_logger(__name__)

MAX_BODY = 1600  # UTF-16 code units, as Twilio counts (an astral emoji is two)
ACCOUNT = "/2010-04-01/Accounts/{account_sid}"


def build_api_router(sim: PhoneSimulator) -> APIRouter:
    """The Messages API routes of `sim`."""
    api = MessagesApi(sim)
    router = APIRouter(tags=["twilio-simulator"])
    router.add_api_route(ACCOUNT + "/Messages.json", api.create, methods=["POST"])
    router.add_api_route(ACCOUNT + "/Messages.json", api.list, methods=["GET"])
    router.add_api_route(ACCOUNT + "/Messages/{sid}.json", api.fetch, methods=["GET"])
    router.add_api_route(ACCOUNT + "/Messages/{sid}/Media/{media_id}", api.media, methods=["GET"])
    router.add_api_route(ACCOUNT + ".json", api.account, methods=["GET"])
    router.add_api_route(ACCOUNT + "/IncomingPhoneNumbers.json", api.numbers, methods=["GET"])
    return router


def _text(form: FormData, key: str) -> str | None:
    value = form.get(key)
    return value if isinstance(value, str) else None


class MessagesApi:
    """Request handlers of the Messages API fake."""

    def __init__(self, sim: PhoneSimulator):
        self._sim = sim

    async def create(self, account_sid: str, request: Request) -> Response:
        """Send a message (`POST .../Messages.json`); every attempt is recorded."""
        form = await request.form()
        attempt = self._sim.state.record_attempt(_text(form, "To"), _text(form, "Body"))
        response = await self._create(account_sid, request, form, attempt)
        attempt.status = response.status_code
        log.info("simulator.api_send", status=response.status_code, sid=attempt.sid)
        return response

    async def _create(
        self, account_sid: str, request: Request, form: FormData, attempt: SendAttempt
    ) -> Response:
        faults = self._sim.faults
        if faults.take("hang_next"):
            attempt.fault = "hang"
            await self._sim.wait_release(faults.hang_seconds)
            return error_response(503, 20503)
        if faults.take("fail_next"):
            attempt.fault = "fail"
            return self._failure(faults.fail_status, faults.retry_after)
        refusal = (
            self._check_access(account_sid, request)
            or self._check_form(form)
            or self._check_window(form)
        )
        if refusal is not None:
            return refusal
        message = self._accept(form)
        attempt.sid = message.sid
        if faults.take("accept_then_hang_next"):
            attempt.fault = "accept_then_hang"
            await self._sim.wait_release(faults.hang_seconds)
        return JSONResponse(message_json(message, account_sid), status_code=201)

    async def account(self, account_sid: str, request: Request) -> Response:
        """Fetch the account (`GET /2010-04-01/Accounts/{sid}.json`), as `cockpit doctor` does."""
        refusal = self._check_access(account_sid, request)
        if refusal is not None:
            return refusal
        return JSONResponse({"sid": account_sid, "friendly_name": "Phone simulator",
                             "status": "active", "type": "Full"})  # fmt: skip

    async def numbers(self, account_sid: str, request: Request) -> Response:
        """The account's phone numbers (`IncomingPhoneNumbers.json`, `PhoneNumber` filter):
        the simulator owns exactly its WhatsApp sender."""
        refusal = self._check_access(account_sid, request)
        if refusal is not None:
            return refusal
        own = self._sim.whatsapp_from.removeprefix("whatsapp:")
        wanted = request.query_params.get("PhoneNumber")
        listed = [] if wanted not in (None, own) else [
            {"sid": "PN" + "0" * 32, "phone_number": own, "account_sid": account_sid}
        ]  # fmt: skip
        return JSONResponse({"incoming_phone_numbers": listed, "page": 0, "page_size": 50})

    def _failure(self, status: int, retry_after: float) -> Response:
        code = 20000 + status if status in (404, 429, 500, 503) else 20500
        headers = {"Retry-After": f"{retry_after:g}"} if status == 429 else None
        return error_response(status, code, headers)

    def _check_access(self, account_sid: str, request: Request) -> Response | None:
        if not self._sim.authorized(request.headers.get("authorization")):
            return error_response(401, 20003, {"WWW-Authenticate": 'Basic realm="Twilio API"'})
        if account_sid != self._sim.account_sid:
            return error_response(404, 20404)
        return None

    def _check_form(self, form: FormData) -> Response | None:
        to, from_ = _text(form, "To"), _text(form, "From")
        body, media = _text(form, "Body") or "", form.getlist("MediaUrl")
        content = _text(form, "ContentSid")
        if content is not None:
            body = self._render(content, _text(form, "ContentVariables")) or ""
        known = content in self._sim.templates or content in self._sim.contents
        code = None
        if not to:
            code = 21604
        elif not from_:
            code = 21603
        elif _address(from_) != self._sim.whatsapp_from:
            code = 63007
        elif not to.startswith(WHATSAPP_PREFIX):
            code = 21910
        elif not _is_number(to):
            code = 21211
        elif content is not None and not known:
            code = 21655
        elif content is not None and not body:
            code = 21656
        elif not body and not media:
            code = 21602
        elif utf16_length(body) > MAX_BODY:
            code = 21617
        elif not all(isinstance(url, str) and _is_http_url(url) for url in media):
            code = 21620
        return None if code is None else error_response(400, code)

    def _check_window(self, form: FormData) -> Response | None:
        """Outside the 24-hour window only a template goes: 63016, as an answer (knob)."""
        number = normalize_e164(_text(form, "To") or "")
        if self._approved(_text(form, "ContentSid")) or self._sim.window_open(number):
            return None
        if self._sim.faults.window_refusal_sync:
            return error_response(400, OUTSIDE_WINDOW)
        return None

    def _approved(self, content_sid: str | None) -> bool:
        """An approved template goes outside the window; buttons and lists do not."""
        return content_sid is not None and content_sid in self._sim.templates

    def _render(self, content_sid: str, variables: str | None) -> str | None:
        """The text of template `content_sid` with its {{n}} filled in; None when the
        variables are not a JSON object of strings (or do not fill a content resource)."""
        rendered = self._rendered(content_sid, variables)
        return rendered.body if rendered else None

    def _rendered(self, content_sid: str, variables: str | None) -> Rendered | None:
        try:
            values = json.loads(variables) if variables else {}
        except ValueError:
            return None
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            return None
        resource = self._sim.contents.get(content_sid)
        if resource is not None:
            return render(resource, values)
        text = self._sim.templates.get(content_sid, "")
        return Rendered(_PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text))

    def _refusal(self, to: str, content: str | None) -> int | None:
        """Why the accepted message will not reach the phone: 63016 outside the window,
        30003 when the `undelivered_next` knob says the handset is off; else None."""
        if not self._approved(content) and not self._sim.window_open(to):
            return OUTSIDE_WINDOW
        return UNREACHABLE if self._sim.faults.take("undelivered_next") else None

    def _accept(self, form: FormData) -> SimMessage:
        """Record the message as queued and start its delivery in the background."""
        urls = [url for url in form.getlist("MediaUrl") if isinstance(url, str)]
        to = _text(form, "To") or ""
        content = _text(form, "ContentSid")
        rendered = self._rendered(content, _text(form, "ContentVariables")) if content else None
        body = rendered.body if rendered else _text(form, "Body")
        message = SimMessage(
            sid=new_sid("MM" if urls else "SM"),
            direction=OUTBOUND,
            number=normalize_e164(to),
            from_=self._sim.whatsapp_from,
            to=WHATSAPP_PREFIX + normalize_e164(to),
            body=body or "",
            media=[SimMedia(id=new_sid("ME"), source_url=url) for url in urls],
            status_callback=_text(form, "StatusCallback") or None,
            content_sid=content if self._approved(content) else None,
            buttons=rendered.buttons if rendered else [],
            list_button=rendered.list_button if rendered else None,
            refusal=self._refusal(to, content),
        )
        self._sim.state.add(message)
        self._sim.courier.spawn(self._sim.courier.deliver_outbound(message))
        return message

    async def list(self, account_sid: str, request: Request) -> Response:
        """List messages newest first (`GET .../Messages.json`), filtered like Twilio's."""
        refusal = self._check_access(account_sid, request)
        if refusal is not None:
            return refusal
        query = request.query_params
        try:
            matches = [m for m in reversed(self._sim.state.messages) if _matches(m, query)]
            size = min(max(int(query.get("PageSize", "50")), 1), 1000)
            page = max(int(query.get("Page", "0")), 0)
        except ValueError:
            return error_response(400, 20001)
        items = matches[page * size : (page + 1) * size]
        filters = urlencode([(k, v) for k, v in query.multi_items() if k not in _PAGING])
        body = list_json(
            [message_json(m, account_sid) for m in items],
            path=messages_path(account_sid) + ".json",
            query=filters,
            page=page,
            size=size,
            more=len(matches) > (page + 1) * size,
        )
        return JSONResponse(body)

    async def fetch(self, account_sid: str, sid: str, request: Request) -> Response:
        """One message (`GET .../Messages/{Sid}.json`)."""
        refusal = self._check_access(account_sid, request)
        if refusal is not None:
            return refusal
        message = self._sim.state.get(sid)
        if message is None:
            return error_response(404, 20404)
        return JSONResponse(message_json(message, account_sid))

    async def media(self, account_sid: str, sid: str, media_id: str) -> Response:
        """The bytes of a message's media; like Twilio's default, no credentials needed."""
        message = self._sim.state.get(sid)
        item = self._sim.state.media(media_id)
        if account_sid != self._sim.account_sid or message is None or item is None:
            return error_response(404, 20404)
        if item.data is None or item not in message.media:
            return error_response(404, 20404)
        return Response(item.data, media_type=item.content_type or "application/octet-stream")


_PAGING = {"Page", "PageSize", "PageToken"}
_PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")
OUTSIDE_WINDOW = 63016
UNREACHABLE = 30003


def _address(value: str) -> str | None:
    """A `whatsapp:` address in canonical form, or None when `value` is not one."""
    if not value.startswith(WHATSAPP_PREFIX) or not _is_number(value):
        return None
    return WHATSAPP_PREFIX + normalize_e164(value)


def _is_number(address: str) -> bool:
    try:
        normalize_e164(address)
    except ValueError:
        return False
    return True


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _matches(message: SimMessage, query: Any) -> bool:
    """Whether `message` passes the To, From and DateSent filters of a list request."""
    if query.get("To") and message.to != query["To"]:
        return False
    if query.get("From") and message.from_ != query["From"]:
        return False
    # A queued message has no date_sent yet; its creation time stands in, so a lookup
    # made right after a lost answer still finds the message.
    when = message.date_sent or message.date_created
    for key, test in _DATE_TESTS.items():
        if key in query and not test(_moment(when, query[key]), _parse_day(query[key])):
            return False
    return True


_DATE_TESTS: dict[str, Any] = {
    "DateSent": lambda a, b: a == b,
    "DateSent>": lambda a, b: a >= b,
    "DateSent<": lambda a, b: a <= b,
}


def _parse_day(raw: str) -> date | datetime:
    """A filter value: `YYYY-MM-DD`, or an ISO 8601 date-time as the twilio library sends."""
    if len(raw) == 10:
        return date.fromisoformat(raw)
    return datetime.fromisoformat(raw.replace("Z", "+00:00"))


def _moment(when: datetime, raw: str) -> date | datetime:
    """The message's time at the precision of the filter value."""
    return when.date() if len(raw) == 10 else when


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """The (user, password) of an HTTP basic Authorization header, if well-formed."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of two secrets."""
    return secrets.compare_digest(given.encode(), expected.encode())

"""Everything the simulator sends out, as Twilio would: signed webhooks, status callbacks,
and the download of an outbound message's media.

Requests are form-encoded and signed with the `twilio` library's own
`RequestValidator`, so the relay's signature check is exercised for real.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Coroutine
from typing import Any

import httpx
from twilio.request_validator import RequestValidator

from cockpit.channels.simulator.resources import API_VERSION, ERRORS
from cockpit.channels.simulator.state import Faults, SimMedia, SimMessage, SimState, utcnow
from cockpit.log import get_logger

log = get_logger(__name__)

MEDIA_FAILED = 63019
UNREACHABLE = 30003  # Twilio: "Unreachable destination handset"
WEBHOOK_TIMEOUT = 15.0  # Twilio gives up on a webhook after 15 s


class Courier:
    """Posts signed requests and runs each outbound message's delivery in the background."""

    def __init__(self, *, account_sid: str, auth_token: str, state: SimState, faults: Faults):
        self._account_sid = account_sid
        self._validator = RequestValidator(auth_token)
        self._state = state
        self._faults = faults
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT, follow_redirects=True)
        return self._client

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in the background; `aclose` cancels it if still running."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """Cancel background deliveries and close the HTTP client."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def post_signed(self, url: str, params: dict[str, str], token: str) -> httpx.Response:
        """POST `params` form-encoded to `url` with Twilio's signature headers."""
        headers = {
            "X-Twilio-Signature": self._validator.compute_signature(url, params),
            "I-Twilio-Idempotency-Token": token,
            "User-Agent": "TwilioProxy/1.1",
        }
        return await self._http().post(url, data=params, headers=headers)

    async def deliver_inbound(self, message: SimMessage, url: str, params: dict[str, str]) -> None:
        """Post the webhook of a message from the phone; note what the relay answered."""
        token = secrets.token_hex(16)
        times = 2 if self._faults.take("duplicate_webhooks") else 1
        for _ in range(times):
            try:
                response = await self.post_signed(url, params, token)
            except httpx.HTTPError as exc:
                message.relay_status, message.relay_error = None, _unreachable(exc)
            else:
                message.relay_status = response.status_code
                message.relay_error = None if response.is_success else _refusal(response)
            log.info("simulator.webhook", sid=message.sid, relay_status=message.relay_status)
        message.date_updated = utcnow()
        self._state.changed(message)

    async def deliver_outbound(self, message: SimMessage) -> None:
        """Fetch the media, then report sent, delivered and read (or failed) by callback.

        A message that never reaches the phone (`message.refusal`: 63016 outside the
        window, 30003 an unreachable handset) fails or is undelivered."""
        if message.refusal is not None:
            await asyncio.sleep(self._faults.callback_delay)
            status = "undelivered" if message.refusal == UNREACHABLE else "failed"
            message.set_status(status, message.refusal, ERRORS[message.refusal])
            await self._callback(message)
            return
        if not await self._fetch_all(message.media):
            message.set_status("failed", MEDIA_FAILED, ERRORS[MEDIA_FAILED])
            self._state.changed(message)
            await self._callback(message)
            return
        for status in ("sent", "delivered", "read"):
            await asyncio.sleep(self._faults.callback_delay)
            message.set_status(status)
            self._state.changed(message)
            await self._callback(message)

    async def _fetch_all(self, media: list[SimMedia]) -> bool:
        for item in media:
            if not await self._fetch(item):
                return False
        return True

    async def _fetch(self, item: SimMedia) -> bool:
        """Download one MediaUrl without credentials, as Twilio does; True when it is an image."""
        assert item.source_url is not None
        try:
            response = await self._http().get(item.source_url)
        except httpx.HTTPError as exc:
            log.warning("simulator.media_failed", url=item.source_url, error=type(exc).__name__)
            return False
        content_type = response.headers.get("content-type", "").split(";")[0].strip()
        if (
            response.status_code != 200
            or not content_type.startswith("image/")
            or not response.content
        ):
            log.warning("simulator.media_failed", url=item.source_url, status=response.status_code)
            return False
        item.content_type, item.data = content_type, response.content
        return True

    async def _callback(self, message: SimMessage) -> None:
        """Post one status callback, unless a fault drops it (or doubles it)."""
        if not message.status_callback:
            return
        if self._faults.take("drop_callbacks"):
            log.info("simulator.callback_dropped", sid=message.sid, status=message.status)
            return
        times = 2 if self._faults.take("duplicate_callbacks") else 1
        params = self.callback_params(message)
        token = secrets.token_hex(16)
        for _ in range(times):
            try:
                response = await self.post_signed(message.status_callback, params, token)
                log.info(
                    "simulator.callback",
                    sid=message.sid,
                    status=message.status,
                    answer=response.status_code,
                )
            except httpx.HTTPError as exc:
                log.warning("simulator.callback_failed", sid=message.sid, error=_unreachable(exc))

    def callback_params(self, message: SimMessage) -> dict[str, str]:
        """The form parameters of a status callback for the message's current status."""
        params = {
            "AccountSid": self._account_sid,
            "ApiVersion": API_VERSION,
            "ChannelPrefix": "whatsapp",
            "ChannelToAddress": message.number,
            "From": message.from_,
            "To": message.to,
            "MessageSid": message.sid,
            "SmsSid": message.sid,
            "MessageStatus": message.status,
            "SmsStatus": message.status,
            "StructuredMessage": "false",
        }
        if message.error_code is not None:
            params["ErrorCode"] = str(message.error_code)
        return params


def _unreachable(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"the relay did not answer within {WEBHOOK_TIMEOUT:.0f} s"
    return f"the relay is unreachable ({type(exc).__name__})"


def _refusal(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return f"the relay answered HTTP {response.status_code}" + (f": {text[:200]}" if text else "")


def inbound_params(
    message: SimMessage, *, account_sid: str, media_urls: list[str], replied: SimMessage | None
) -> dict[str, str]:
    """The form parameters of Twilio's incoming-message webhook for a WhatsApp message."""
    params = {
        "SmsMessageSid": message.sid,
        "SmsSid": message.sid,
        "MessageSid": message.sid,
        "AccountSid": account_sid,
        "From": message.from_,
        "To": message.to,
        "Body": message.body,
        "NumMedia": str(len(media_urls)),
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageType": "image" if media_urls else "button" if message.button_payload else "text",
        "ProfileName": message.profile_name or "",
        "WaId": message.number.lstrip("+"),
        "SmsStatus": "received",
        "ApiVersion": API_VERSION,
    }
    for index, (url, media) in enumerate(zip(media_urls, message.media, strict=True)):
        params[f"MediaUrl{index}"] = url
        params[f"MediaContentType{index}"] = media.content_type or "application/octet-stream"
    if replied is not None:
        params["OriginalRepliedMessageSid"] = replied.sid
        params["OriginalRepliedMessageSender"] = replied.from_
    if message.button_payload is not None:  # a tapped button: its id and title
        params["ButtonPayload"] = message.button_payload
        params["ButtonText"] = message.button_text or message.body
    return params

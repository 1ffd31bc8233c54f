"""Twilio's WhatsApp API: sending over its REST API, checking and parsing webhooks.

Sending uses httpx against the documented Messages API instead of
`twilio.rest.Client`: the relay needs `Retry-After`, a clear line between
"not sent" and "maybe sent" on timeouts, and async I/O (see
docs/decisions/0002-twilio-over-httpx.md). Signatures use the `twilio`
library's own `RequestValidator`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from twilio.request_validator import RequestValidator

from cockpit.channels.media_fetch import MediaPolicy, fetch_media
from cockpit.core.messages import Inbound, MediaRef, MessageStatus, SendReceipt, SentMessage
from cockpit.core.phone import normalize_e164, to_whatsapp
from cockpit.errors import (
    PermanentSendError,
    TransientSendError,
    UnknownOutcomeError,
)

MAX_MEDIA_PER_MESSAGE = 10  # Twilio's documented maximum of NumMedia
# The inbound columns' widths (store/models.py): longer values never reach the database.
MAX_SID, MAX_TO, MAX_PROFILE_NAME, MAX_WA_ID = 64, 40, 200, 32


class TwilioChannel:
    """Twilio (or anything speaking its API, like the phone simulator)."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_: str,
        base_url: str,
        timeout: float,
        media_base_url: str | None = None,
        content_base_url: str | None = None,
        messaging_base_url: str | None = None,
    ):
        self._account_sid = account_sid
        self._content_url = f"{content_base_url or base_url}/v1/Content"
        self._typing_url = f"{messaging_base_url or base_url}/v2/Indicators/Typing.json"
        self._from = from_ if from_.startswith("whatsapp:") else to_whatsapp(from_)
        self._validator = RequestValidator(auth_token)
        self._messages_url = f"{base_url}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._message_url = f"{base_url}/2010-04-01/Accounts/{account_sid}/Messages/{{}}.json"
        self._client = httpx.AsyncClient(
            auth=(account_sid, auth_token),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=True,
        )
        # Inbound media: credentials only for the account's media URLs (media_fetch.py).
        self._media_policy = MediaPolicy(
            httpx.URL(media_base_url or base_url), account_sid, auth_token
        )
        self._media_client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)), follow_redirects=False
        )

    async def send(
        self,
        to: str,
        body: str,
        media_url: str | None,
        status_callback: str | None,
        *,
        content_sid: str | None = None,
        content_variables: str | None = None,
    ) -> SendReceipt:
        data = {"To": to_whatsapp(to), "From": self._from}
        if content_sid:  # Content API: the template replaces Body (63016 otherwise)
            data["ContentSid"] = content_sid
            if content_variables:
                data["ContentVariables"] = content_variables
        elif body:
            data["Body"] = body
        if media_url:
            data["MediaUrl"] = media_url
        if status_callback:
            data["StatusCallback"] = status_callback
        response = await self._post(data)
        payload = response.json()
        return SendReceipt(sid=str(payload["sid"]), status=str(payload.get("status", "queued")))

    async def _post(self, data: dict[str, str]) -> httpx.Response:
        try:
            response = await self._client.post(self._messages_url, data=data)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise TransientSendError(f"cannot reach Twilio: {type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            # The request may have reached Twilio and created the message.
            raise UnknownOutcomeError(f"no answer from Twilio: {type(exc).__name__}") from exc
        if response.status_code >= 400:
            raise _error_from(response)
        return response

    async def create_content(self, definition: Mapping[str, Any]) -> str:
        """Create a Content API template (`POST /v1/Content`, JSON); its HX sid."""
        try:
            response = await self._client.post(self._content_url, json=dict(definition))
        except httpx.HTTPError as exc:
            raise TransientSendError(f"cannot reach the Content API: {type(exc).__name__}") from exc
        if response.status_code >= 400:
            raise _error_from(response)
        try:
            sid = str(response.json()["sid"])
        except (ValueError, KeyError, TypeError) as exc:
            raise PermanentSendError(f"unreadable answer from the Content API: {exc!r}") from exc
        if not (sid.startswith("HX") and sid.isalnum()):
            raise PermanentSendError(f"the Content API answered no HX sid: {sid[:40]!r}")
        return sid

    async def typing(self, message_sid: str) -> None:
        """Show "typing…" for the message `message_sid` (WhatsApp typing indicator, beta);
        it also marks that message read."""
        data = {"messageId": message_sid, "channel": "whatsapp"}
        try:
            response = await self._client.post(self._typing_url, data=data)
        except httpx.HTTPError as exc:
            raise TransientSendError(f"cannot reach the typing API: {type(exc).__name__}") from exc
        if response.status_code >= 400:
            raise _error_from(response)
        try:
            accepted = response.json().get("success") is True
        except (ValueError, AttributeError):
            accepted = False
        if not accepted:
            raise PermanentSendError("the typing indicator was not accepted")

    async def sent_since(self, to: str, since: datetime) -> list[SentMessage]:
        params = {"To": to_whatsapp(to), "DateSent>": since.strftime("%Y-%m-%d"), "PageSize": "100"}
        try:
            response = await self._client.get(self._messages_url, params=params)
        except httpx.HTTPError as exc:
            raise TransientSendError(f"cannot list messages: {type(exc).__name__}") from exc
        if response.status_code >= 400:
            raise _error_from(response)
        return [_sent(m) for m in response.json().get("messages", [])]

    async def status(self, sid: str) -> MessageStatus:
        # The sid goes into the path: only Twilio's own shape (letters and digits) passes.
        if not (sid.isascii() and sid.isalnum()):
            raise PermanentSendError(f"not a message SID: {sid[:40]!r}")
        try:
            response = await self._client.get(self._message_url.format(sid))
        except httpx.HTTPError as exc:
            raise TransientSendError(f"cannot fetch a message: {type(exc).__name__}") from exc
        if response.status_code >= 400:
            raise _error_from(response)
        try:
            payload = response.json()
            code = payload.get("error_code")
            return MessageStatus(
                sid=str(payload["sid"]),
                status=str(payload.get("status") or ""),
                error_code=int(code) if code is not None else None,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise TransientSendError(f"unreadable message from Twilio: {exc!r}") from exc

    async def fetch_media(self, url: str, max_bytes: int) -> tuple[bytes, str]:
        return await fetch_media(self._media_client, self._media_policy, url, max_bytes)

    def is_signed(self, url: str, params: Mapping[str, str], signature: str) -> bool:
        return bool(signature) and bool(self._validator.validate(url, dict(params), signature))

    async def aclose(self) -> None:
        await self._client.aclose()
        await self._media_client.aclose()


def _sent(m: dict[str, Any]) -> SentMessage:
    to = str(m.get("to", "")).removeprefix("whatsapp:")
    return SentMessage(
        sid=str(m["sid"]),
        to=to,
        body=str(m.get("body") or ""),
        num_media=int(m.get("num_media") or 0),
        status=str(m.get("status", "")),
        extra={"date_created": str(m.get("date_created", ""))},
    )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            delta = parsedate_to_datetime(value).timestamp() - datetime.now().timestamp()
        except (TypeError, ValueError):
            return None
        return max(0.0, delta)


def _error_from(response: httpx.Response) -> Exception:
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    code = payload.get("code") if isinstance(payload, dict) else None
    message = payload.get("message") if isinstance(payload, dict) else None
    text = f"Twilio answered {response.status_code}" + (
        f" (error {code}: {message})" if code else ""
    )
    status = response.status_code
    if status == 429:
        return TransientSendError(
            text, status=status, code=code, retry_after=_retry_after(response)
        )
    if status >= 500:
        return UnknownOutcomeError(
            text, status=status, code=code, retry_after=_retry_after(response)
        )
    return PermanentSendError(text, status=status, code=code)


class WebhookError(ValueError):
    """A webhook's parameters are malformed; the text says which."""


def parse_inbound(params: Mapping[str, str]) -> Inbound:
    """Read Twilio's inbound-message parameters, or raise WebhookError saying why."""
    sid = params.get("MessageSid") or params.get("SmsMessageSid") or ""
    if not sid or len(sid) > MAX_SID:
        raise WebhookError("MessageSid is missing or malformed")
    try:
        sender = normalize_e164(params.get("From", ""))
    except ValueError as exc:
        raise WebhookError(f"From: {exc}") from None
    return Inbound(
        sid=sid,
        from_number=sender,
        to=params.get("To", "")[:MAX_TO],
        body=params.get("Body", ""),
        media=_media(params),
        # A display name is cut to fit; an identifier too long to be real is dropped
        # (it can match nothing): the message itself is kept either way.
        profile_name=(params.get("ProfileName") or "")[:MAX_PROFILE_NAME] or None,
        wa_id=_identifier(params.get("WaId"), MAX_WA_ID),
        replied_sid=_identifier(params.get("OriginalRepliedMessageSid"), MAX_SID),
        # A tapped quick-reply button (or list item) carries the id we gave it.
        button_payload=(params.get("ButtonPayload") or params.get("ListId") or None),
    )


def _identifier(value: str | None, limit: int) -> str | None:
    return value if value and len(value) <= limit else None


def _media(params: Mapping[str, str]) -> tuple[MediaRef, ...]:
    raw = params.get("NumMedia", "0") or "0"
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_MEDIA_PER_MESSAGE:
        raise WebhookError(f"NumMedia must be 0 to {MAX_MEDIA_PER_MESSAGE}")
    items = []
    for i in range(int(raw)):
        url = params.get(f"MediaUrl{i}", "")
        if not url.startswith(("http://", "https://")):
            raise WebhookError(f"MediaUrl{i} is missing or not an http(s) URL")
        kind = params.get(f"MediaContentType{i}", "application/octet-stream")
        items.append(MediaRef(url=url, content_type=kind))
    return tuple(items)


async def check_account(
    *, account_sid: str, auth_token: str, sender: str, base_url: str, sandbox: bool
) -> str:
    """What Twilio says of these credentials and this WhatsApp sender, as one sentence;
    raises PermanentSendError (credentials refused, sender not on the account) or
    TransientSendError (Twilio unreachable) with the reason."""
    number = normalize_e164(sender)
    account = f"{base_url}/2010-04-01/Accounts/{account_sid}"
    async with httpx.AsyncClient(auth=(account_sid, auth_token), timeout=10) as client:
        try:
            answer = await client.get(f"{account}.json")
            if answer.status_code in (401, 403, 404):
                raise PermanentSendError(
                    f"Twilio refused TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN ({answer.status_code})"
                )
            answer.raise_for_status()
            if sandbox:
                return f"account {answer.json().get('status', '?')}; sender is Twilio's sandbox"
            owned = await client.get(f"{account}/IncomingPhoneNumbers.json",
                                     params={"PhoneNumber": number})  # fmt: skip
            owned.raise_for_status()
        except httpx.HTTPError as exc:
            raise TransientSendError(f"Twilio did not answer: {type(exc).__name__}") from None
    if not owned.json().get("incoming_phone_numbers"):
        raise PermanentSendError(f"{number} is not a phone number of this Twilio account")
    return f"account {answer.json().get('status', '?')}; sender {number} is on the account"

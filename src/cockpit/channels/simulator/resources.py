"""Twilio's JSON shapes: the Message resource, its list page and the error object."""

from __future__ import annotations

from email.utils import format_datetime
from typing import Any

from fastapi.responses import JSONResponse

from cockpit.channels.simulator.state import SimMessage

API_VERSION = "2010-04-01"
ERROR_DOCS = "https://www.twilio.com/docs/errors/"

# Twilio's own error codes and sentences, for the refusals the simulator makes.
ERRORS: dict[int, str] = {
    20001: "Invalid parameter",
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    20503: "Service Unavailable",
    21211: "Invalid 'To' Phone Number",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21620: "Media urls: invalid URL. Use absolute http(s) URLs.",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    21655: "The ContentSid is Invalid.",
    21656: "The ContentVariables Parameter is invalid.",
    21910: "Invalid 'From' and 'To' pair. 'From' and 'To' should be of the same channel",
    30003: "Unreachable destination handset",
    63007: "Twilio could not find a Channel with the specified From address",
    63016: (
        "Failed to send freeform message because you are outside the allowed window. "
        "If you are using WhatsApp, please use a Message Template."
    ),
    63019: "Media failed to download",
}


def error_response(status: int, code: int, headers: dict[str, str] | None = None) -> JSONResponse:
    """Twilio's error object `{code, message, more_info, status}` with HTTP `status`."""
    content = {
        "code": code,
        "message": ERRORS.get(code, "Error"),
        "more_info": f"{ERROR_DOCS}{code}",
        "status": status,
    }
    return JSONResponse(content, status_code=status, headers=headers)


def messages_path(account_sid: str) -> str:
    """The path of an account's Messages list."""
    return f"/{API_VERSION}/Accounts/{account_sid}/Messages"


def _rfc2822(value: Any) -> str | None:
    return None if value is None else format_datetime(value)


def message_json(message: SimMessage, account_sid: str) -> dict[str, Any]:
    """A message as Twilio's Message resource (counts are strings, dates RFC 2822)."""
    base = f"{messages_path(account_sid)}/{message.sid}"
    return {
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "body": message.body,
        "date_created": _rfc2822(message.date_created),
        "date_sent": _rfc2822(message.date_sent),
        "date_updated": _rfc2822(message.date_updated),
        "direction": message.direction,
        "error_code": message.error_code,
        "error_message": message.error_message,
        "from": message.from_,
        "messaging_service_sid": None,
        "num_media": str(len(message.media)),
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": message.sid,
        "status": message.status,
        "subresource_uris": {"media": f"{base}/Media.json", "feedback": f"{base}/Feedback.json"},
        "to": message.to,
        "uri": f"{base}.json",
    }


def list_json(
    items: list[dict[str, Any]], *, path: str, query: str, page: int, size: int, more: bool
) -> dict[str, Any]:
    """One page of Twilio's list shape; `query` holds the filters without paging."""

    def uri(number: int) -> str:
        extra = f"{query}&" if query else ""
        return f"{path}?{extra}PageSize={size}&Page={number}"

    start = page * size
    return {
        "messages": items,
        "page": page,
        "page_size": size,
        "start": start,
        "end": start + max(len(items) - 1, 0),
        "uri": uri(page),
        "first_page_uri": uri(0),
        "next_page_uri": uri(page + 1) if more else None,
        "previous_page_uri": uri(page - 1) if page > 0 else None,
    }

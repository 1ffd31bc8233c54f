"""The fakes of Twilio's Content API (`/v1/Content`) and typing indicator
(`/v2/Indicators/Typing.json`), and how a content message looks on the phone.

As Twilio documents them: the Content API takes JSON (`friendly_name`, `language`,
`variables`, `types`) with HTTP basic auth and answers the Content resource (HX sid,
ISO 8601 dates); a message sent with `ContentSid` + `ContentVariables` shows the
`twilio/quick-reply` body with its buttons, or the `twilio/list-picker` body with its
list button; the typing indicator takes the form fields `messageId` and `channel`
(`whatsapp`), marks that inbound message read and answers `{"success": true}`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from cockpit.channels.simulator.resources import error_response
from cockpit.channels.simulator.state import INBOUND, new_sid, utcnow
from cockpit.log import get_logger

if TYPE_CHECKING:
    from cockpit.channels.simulator.app import PhoneSimulator

log = get_logger(__name__)
TYPING_SECONDS = 25.0  # WhatsApp drops the indicator after 25 s (or at the next message)
_PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")
# What each supported type must have, with WhatsApp's limits (Content API docs).
LIMITS = {"body": 1024, "title": 20, "item": 24, "description": 72, "id": 200}


@dataclass(frozen=True)
class Rendered:
    """A content message as the phone shows it: text, and buttons or a list."""

    body: str
    buttons: list[dict[str, str]] = field(default_factory=list)  # {"title", "id"}
    list_button: str | None = None  # a list-picker's button; its items are `buttons`


def build_content_router(sim: PhoneSimulator) -> APIRouter:
    """The Content API and typing indicator routes of `sim`."""
    router = APIRouter(tags=["twilio-simulator"])

    @router.post("/v1/Content")
    async def create(request: Request) -> Response:
        refusal = _check_auth(sim, request)
        if refusal is not None:
            return refusal
        try:
            body = await request.json()
        except ValueError:
            return error_response(400, 20001)
        problem = _invalid(body)
        if problem is not None:
            log.info("simulator.content_refused", reason=problem)
            return _invalid_response(problem)
        if sim.faults.take("content_fail_next"):
            return error_response(500, 20500)
        resource = _resource(sim, new_sid("HX"), body, str(request.base_url).rstrip("/"))
        sim.contents[resource["sid"]] = resource
        return JSONResponse(resource, status_code=201)

    @router.get("/v1/Content/{sid}")
    async def fetch(sid: str, request: Request) -> Response:
        refusal = _check_auth(sim, request)
        if refusal is not None:
            return refusal
        found = sim.contents.get(sid)
        return JSONResponse(found) if found else error_response(404, 20404)

    @router.delete("/v1/Content/{sid}")
    async def remove(sid: str, request: Request) -> Response:
        refusal = _check_auth(sim, request)
        if refusal is not None:
            return refusal
        if sim.contents.pop(sid, None) is None:
            return error_response(404, 20404)
        return Response(status_code=204)

    @router.post("/v2/Indicators/Typing.json")
    async def typing(request: Request) -> Response:
        refusal = _check_auth(sim, request)
        if refusal is not None:
            return refusal
        form = await request.form()
        message_id, channel = form.get("messageId"), form.get("channel")
        if not isinstance(message_id, str) or not message_id or channel != "whatsapp":
            return error_response(400, 20001)
        if sim.faults.take("typing_fail_next"):
            return error_response(400, 20001)
        message = sim.state.get(message_id)
        if message is None or message.direction != INBOUND:
            return error_response(404, 20404)
        message.set_status("read")
        sim.state.set_typing(message.number, utcnow() + timedelta(seconds=TYPING_SECONDS))
        sim.state.changed(message)
        return JSONResponse({"success": True})

    return router


def _check_auth(sim: PhoneSimulator, request: Request) -> Response | None:
    if not sim.authorized(request.headers.get("authorization")):
        return error_response(401, 20003, {"WWW-Authenticate": 'Basic realm="Twilio API"'})
    return None


def _invalid_response(reason: str) -> Response:
    response = error_response(400, 20001)
    payload = json.loads(bytes(response.body))
    payload["message"] = f"Invalid parameter: {reason}"
    return JSONResponse(payload, status_code=400)


def _invalid(body: Any) -> str | None:
    """Why a create request is not a valid quick-reply/list-picker/text definition."""
    if not isinstance(body, dict) or not isinstance(body.get("types"), dict) or not body["types"]:
        return "types is required"
    for name, spec in body["types"].items():
        check = _CHECKS.get(name)
        if check is None:
            return f"type {name} is not supported here"
        if not isinstance(spec, dict):
            return f"{name} must be an object"
        problem = check(spec)
        if problem:
            return f"{name}: {problem}"
    return None


def _too_long(value: Any, limit: int) -> bool:
    """Over the limit; a value with variables is checked when it is sent."""
    return not isinstance(value, str) or (not _PLACEHOLDER.search(value) and len(value) > limit)


def _check_text(spec: dict[str, Any]) -> str | None:
    return "body is required" if not isinstance(spec.get("body"), str) else None


def _check_quick_reply(spec: dict[str, Any]) -> str | None:
    actions = spec.get("actions")
    if _too_long(spec.get("body"), LIMITS["body"]):
        return "body is required, at most 1024 characters"
    if not isinstance(actions, list) or not 1 <= len(actions) <= 10:
        return "actions must hold 1 to 10 buttons"
    for action in actions:
        if not isinstance(action, dict) or _too_long(action.get("title"), LIMITS["title"]):
            return "each action needs a title of at most 20 characters"
        if _too_long(action.get("id"), LIMITS["id"]):
            return "each action needs an id of at most 200 characters"
    return None


def _check_list_picker(spec: dict[str, Any]) -> str | None:
    items = spec.get("items")
    if _too_long(spec.get("body"), LIMITS["body"]) or not isinstance(spec.get("button"), str):
        return "body and button are required"
    if not isinstance(items, list) or not 1 <= len(items) <= 10:
        return "items must hold 1 to 10 entries"
    for item in items:
        if not isinstance(item, dict) or _too_long(item.get("item"), LIMITS["item"]):
            return "each item needs an item text of at most 24 characters"
        if _too_long(item.get("id"), LIMITS["id"]):
            return "each item needs an id of at most 200 characters"
        if "description" in item and _too_long(item["description"], LIMITS["description"]):
            return "an item description is at most 72 characters"
    return None


_CHECKS = {
    "twilio/text": _check_text,
    "twilio/quick-reply": _check_quick_reply,
    "twilio/list-picker": _check_list_picker,
}


def _resource(sim: PhoneSimulator, sid: str, body: dict[str, Any], base: str) -> dict[str, Any]:
    now = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    url = f"{base}/v1/Content/{sid}"
    return {
        "sid": sid,
        "account_sid": sim.account_sid,
        "friendly_name": body.get("friendly_name"),
        "language": body.get("language") or "en",
        "variables": body.get("variables") or {},
        "types": body["types"],
        "url": url,
        "date_created": now,
        "date_updated": now,
        "links": {
            "approval_create": f"{url}/ApprovalRequests/whatsapp",
            "approval_fetch": f"{url}/ApprovalRequests",
        },
    }


def render(resource: dict[str, Any], variables: dict[str, str]) -> Rendered | None:
    """The message a content resource makes with `variables`; None when a placeholder
    has no value or a filled-in button breaks WhatsApp's limits (21656)."""
    types = resource["types"]
    try:
        if "twilio/quick-reply" in types:
            spec = types["twilio/quick-reply"]
            buttons = [_button(a["title"], a["id"], variables, "title") for a in spec["actions"]]
            return Rendered(_fill(spec["body"], variables, "body"), buttons)
        if "twilio/list-picker" in types:
            spec = types["twilio/list-picker"]
            items = [_button(i["item"], i["id"], variables, "item") for i in spec["items"]]
            button = _fill(spec["button"], variables, "title")
            return Rendered(_fill(spec["body"], variables, "body"), items, button)
        return Rendered(_fill(types["twilio/text"]["body"], variables, "body"))
    except (KeyError, ValueError):
        return None


def _button(title: str, id_: str, variables: dict[str, str], limit: str) -> dict[str, str]:
    return {"title": _fill(title, variables, limit), "id": _fill(id_, variables, "id")}


def _fill(text: str, variables: dict[str, str], limit: str) -> str:
    def value(match: re.Match[str]) -> str:
        return variables[match.group(1)]  # KeyError: a variable is missing

    filled = _PLACEHOLDER.sub(value, text)
    if not filled or len(filled) > LIMITS[limit]:
        raise ValueError(f"{limit} is empty or longer than {LIMITS[limit]}")
    return filled

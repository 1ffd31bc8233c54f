"""Schemathesis against the relay's own OpenAPI schema, over real HTTP on loopback.

The relay's webhook routes read the raw request (to check size, encoding and the
signature before parsing), so FastAPI cannot describe their bodies; the test adds
Twilio's form fields and the `X-Twilio-Signature` header to the served schema so that
schemathesis fuzzes them too. Every request is unsigned (or wrongly signed): none may
get a 5xx, and none may leave a trace.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from cockpit.store.migrate import upgrade
from tests.hostile.conftest import NO_TRACE, trace
from tests.relay.conftest import Stack, running_stack

EXAMPLES = 60
TEXT: dict[str, Any] = {"type": "string"}
SID: dict[str, Any] = {"type": "string", "pattern": "^(SM|MM)[0-9a-f]{32}$"}
WHATSAPP: dict[str, Any] = {"type": "string", "pattern": "^whatsapp:\\+[1-9][0-9]{6,14}$"}
NUMBER: dict[str, Any] = {"type": "string", "pattern": "^[0-9]{1,9}$"}
TOKEN: dict[str, Any] = {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,200}$"}
# Twilio's documented parameters, with the shapes Twilio sends; negative mode breaks them.
INBOUND_FIELDS: dict[str, Any] = {
    "MessageSid": SID, "AccountSid": TEXT, "From": WHATSAPP, "To": WHATSAPP, "Body": TEXT,
    "NumMedia": {"type": "string", "enum": [str(n) for n in range(11)]},
    "MediaUrl0": {"type": "string", "format": "uri"}, "MediaContentType0": TEXT,
    "ProfileName": TEXT, "WaId": NUMBER, "OriginalRepliedMessageSid": SID, "ButtonPayload": TEXT,
}  # fmt: skip
STATUS_FIELDS: dict[str, Any] = {
    "MessageSid": SID, "AccountSid": TEXT, "ErrorCode": NUMBER, "To": WHATSAPP,
    "MessageStatus": {"type": "string", "enum": ["queued", "sent", "delivered", "read", "failed"]},
}  # fmt: skip


def _form(fields: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """Twilio's form body; JSON and multipart too, which the relay must refuse with 415."""
    schema = {"type": "object", "properties": fields, "required": required}
    kinds = ("application/x-www-form-urlencoded", "application/json", "multipart/form-data")
    return {"required": True, "content": {kind: {"schema": schema} for kind in kinds}}


def _signature_header() -> dict[str, Any]:
    return {"name": "X-Twilio-Signature", "in": "header", "required": False, "schema": TEXT}


def relay_schema(relay_url: str) -> dict[str, Any]:
    """The relay's served OpenAPI document, with the webhooks' form bodies described."""
    raw: dict[str, Any] = httpx.get(f"{relay_url}/openapi.json", timeout=10).json()
    messages, status = raw["paths"]["/twilio/messages"]["post"], raw["paths"]["/twilio/status"]
    messages["requestBody"] = _form(INBOUND_FIELDS, ["MessageSid", "From", "To"])
    messages["parameters"] = [_signature_header()]
    status["post"]["requestBody"] = _form(STATUS_FIELDS, ["MessageSid", "MessageStatus"])
    oid = {"name": "oid", "in": "query", "required": False, "schema": NUMBER}
    status["post"]["parameters"] = [_signature_header(), oid]
    for path in ("/media/{token}", "/full/{token}"):
        # itsdangerous tokens are URL-safe; negative mode sends slashes, dots and escapes.
        raw["paths"][path]["get"]["parameters"][0]["schema"] = TOKEN
    return raw


def _fuzz(operation: Any, mode: GenerationMode, base_url: str, session: requests.Session) -> int:
    """Send EXAMPLES generated requests for `operation`; the number of requests sent."""
    sent = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        response = case.call(base_url=base_url, session=session, timeout=10)
        sent.append(response.status_code)
        assert response.status_code < 500, case.as_curl_command()

    check()
    return len(sent)


def _modes(operation: Any) -> tuple[GenerationMode, ...]:
    """Malformed requests only where there is something to malform (a body or parameters)."""
    if operation.body or list(operation.iter_parameters()):
        return (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    return (GenerationMode.POSITIVE,)


def _modes(operation: Any) -> tuple[GenerationMode, ...]:
    """Malformed requests only where there is something to malform (a body or parameters)."""
    if operation.body or list(operation.iter_parameters()):
        return (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    return (GenerationMode.POSITIVE,)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """The relay on SQLite only: unsigned requests never reach the database, so one engine is
    enough here (the specific cases in the other files run on PostgreSQL too)."""
    url = f"sqlite:///{tmp_path / 'cockpit.db'}"
    upgrade(url)
    with running_stack(url, tmp_path / "data") as running:
        yield running


def test_no_generated_request_gets_a_5xx_or_leaves_a_trace(stack: Stack) -> None:
    """Valid-looking and malformed requests to every operation: never a 5xx, nothing stored."""
    schema = schemathesis.openapi.from_dict(relay_schema(stack.relay_url))
    operations = [result.ok() for result in schema.get_all_operations()]
    wanted = {"/twilio/messages", "/twilio/status", "/media/{token}", "/full/{token}"}
    assert wanted <= {op.path for op in operations}
    with requests.Session() as session:
        for operation in operations:
            for mode in _modes(operation):
                import time

                t = time.monotonic()
                assert _fuzz(operation, mode, stack.relay_url, session) > 0
                print("TIMING", operation.path, mode, time.monotonic() - t)
    assert trace(stack) == NO_TRACE

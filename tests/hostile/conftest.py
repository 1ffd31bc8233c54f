"""A real relay + phone simulator for hostile-input tests, and ways to look for traces.

"No trace" means: no inbound row, no outbound row, no media row and no file under the
relay's media folder. Raw HTTP (a socket) is used where httpx would tidy the request up
(dot segments in paths, lying headers).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from cockpit.store.db import Database
from cockpit.store.models import InboundMessage, Media, OutboundMessage
from tests.relay.conftest import ACCOUNT_SID, ADA, AUTH_TOKEN, FROM, Stack, running_stack


@pytest.fixture
def stack(db_url: str, tmp_path: Path) -> Iterator[Stack]:
    """Relay (echo agent) + simulator on loopback, with Ada registered."""
    with running_stack(db_url, tmp_path / "data") as running:
        yield running


@dataclass(frozen=True)
class Trace:
    """What the relay has stored: row counts and media files."""

    inbound: int
    outbound: int
    media_rows: int
    media_files: tuple[str, ...]


def trace(stack: Stack) -> Trace:
    """Everything a request could have left behind in the relay's database and media folder."""
    folder = stack.settings.data_dir / "media"
    files = tuple(sorted(str(p) for p in folder.rglob("*"))) if folder.exists() else ()
    return Trace(
        _count(stack.db, InboundMessage.id),
        _count(stack.db, OutboundMessage.id),
        _count(stack.db, Media.id),
        files,
    )


def _count(db: Database, column: object) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.count(column))) or 0)  # type: ignore[arg-type]


NO_TRACE = Trace(0, 0, 0, ())


def params(sid: str, body: str = "hello", sender: str = ADA, **extra: str) -> dict[str, str]:
    """Twilio's parameters of an inbound WhatsApp message."""
    return {
        "MessageSid": sid, "AccountSid": ACCOUNT_SID, "From": f"whatsapp:{sender}",
        "To": FROM, "Body": body, "NumMedia": "0", **extra,
    }  # fmt: skip


def signature(url: str, form: dict[str, str], token: str = AUTH_TOKEN) -> str:
    """The X-Twilio-Signature Twilio would send for `form` posted to `url`."""
    return RequestValidator(token).compute_signature(url, form)


def signed_post(
    stack: Stack, form: dict[str, str], path: str = "/twilio/messages", signed_for: str = ""
) -> httpx.Response:
    """POST `form` to the relay, signed (for `signed_for`, default the relay's own URL)."""
    url = f"{stack.relay_url}{path}"
    headers = {"X-Twilio-Signature": signature(signed_for or url, form)}
    return httpx.post(url, data=form, headers=headers, timeout=10)


def raw_request(base_url: str, head: str, body: bytes = b"") -> int:
    """Send `head` (request line and headers, no blank line) and `body` as is; the status."""
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=10) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\nConnection: close\r\n\r\n" + body)
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1])

"""Real servers for the phone simulator's tests: the simulator app and a receiver.

The receiver stands in for the relay: it records every webhook and status
callback (with the URL it was reached at and the signature header) and serves
images for MediaUrl downloads.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from PIL import Image
from twilio.request_validator import RequestValidator

from cockpit.channels.simulator import PhoneSimulator, create_simulator_app
from tests.live import serve, wait_until

ACCOUNT = "AC" + "0123456789abcdef" * 2
TOKEN = "test-auth-token-f00d"
SENDER = "whatsapp:+14155238886"
ADA = "+15551230001"
BOB = "+15551230002"
MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"


def png_bytes(color: str = "#d93025", size: tuple[int, int] = (64, 48)) -> bytes:
    """A small real PNG image."""
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


@dataclass
class Hit:
    """One request the receiver got."""

    path: str
    url: str
    params: dict[str, str]
    signature: str
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)

    def is_signed(self) -> bool:
        """Whether the Twilio signature validates for the URL the request reached."""
        return bool(RequestValidator(TOKEN).validate(self.url, self.params, self.signature))


class Receiver:
    """A stand-in for the relay's Twilio endpoints that records what arrives."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.webhook_status = 200
        self.app = FastAPI()
        self.app.add_api_route("/twilio/messages", self._record, methods=["POST"])
        self.app.add_api_route("/twilio/status", self._record, methods=["POST"])
        self.app.add_api_route("/media/{name}", self._media, methods=["GET"])

    async def _record(self, request: Request) -> Response:
        form = await request.form()
        self.hits.append(
            Hit(
                path=request.url.path,
                url=str(request.url),
                params={k: str(v) for k, v in form.items()},
                signature=request.headers.get("x-twilio-signature", ""),
                headers=dict(request.headers),
            )
        )
        status = self.webhook_status if request.url.path == "/twilio/messages" else 200
        return Response("<Response/>", status_code=status, media_type="application/xml")

    async def _media(self, name: str) -> Response:
        if name == "ok.png":
            return Response(png_bytes(), media_type="image/png")
        if name == "note.txt":
            return Response("not an image", media_type="text/plain")
        return Response("missing", status_code=404)

    def webhooks(self) -> list[Hit]:
        """Incoming-message webhooks, in arrival order."""
        return [h for h in self.hits if h.path == "/twilio/messages"]

    def callbacks(self, sid: str) -> list[Hit]:
        """Status callbacks of one message, in arrival order."""
        return [
            h for h in self.hits if h.path == "/twilio/status" and h.params["MessageSid"] == sid
        ]


@dataclass
class Stack:
    """A running simulator, its receiver, and an HTTP client with the account's credentials."""

    sim: PhoneSimulator
    url: str
    receiver: Receiver
    receiver_url: str
    client: httpx.Client

    def send(self, to: str = ADA, body: str | None = "hello", **extra: Any) -> httpx.Response:
        """Create a message through the Messages API, as the relay does."""
        data: dict[str, Any] = {"To": f"whatsapp:{to}", "From": SENDER, **extra}
        if body is not None:
            data["Body"] = body
        data.setdefault("StatusCallback", f"{self.receiver_url}/twilio/status")
        return self.client.post(MESSAGES, data=data)

    def phone_send(self, body: str = "hi", number: str = ADA, **extra: Any) -> dict[str, Any]:
        """Type a message on the simulated phone (through the page's API)."""
        response = self.client.post("/phone/api/send", json={"from": number, "body": body, **extra})
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def statuses(self, sid: str, count: int) -> list[str]:
        """Wait for `count` callbacks of `sid` and return their MessageStatus values."""
        wait_until(lambda: len(self.receiver.callbacks(sid)) >= count)
        return [h.params["MessageStatus"] for h in self.receiver.callbacks(sid)]


@contextmanager
def simulator_stack(
    callback_delay: float = 0.01, webhook_url: str | None = None
) -> Iterator[Stack]:
    """Receiver and simulator under uvicorn on free loopback ports."""
    receiver = Receiver()
    with serve(receiver.app) as receiver_url:
        sim = PhoneSimulator(
            account_sid=ACCOUNT,
            auth_token=TOKEN,
            whatsapp_from=SENDER,
            webhook_url=webhook_url or f"{receiver_url}/twilio/messages",
            contacts=lambda: [(ADA, "Ada"), (BOB, "Bob")],
            callback_delay=callback_delay,
        )
        with (
            serve(create_simulator_app(sim)) as url,
            httpx.Client(base_url=url, auth=(ACCOUNT, TOKEN), timeout=10) as client,
        ):
            yield Stack(sim, url, receiver, receiver_url, client)

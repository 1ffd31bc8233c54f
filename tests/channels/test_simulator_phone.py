"""The phone side: messages typed on a simulated phone become signed Twilio webhooks."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.channels.simulator_harness import (
    ACCOUNT,
    ADA,
    BOB,
    SENDER,
    Stack,
    png_bytes,
    simulator_stack,
)
from tests.live import bound_socket


@pytest.fixture
def stack() -> Iterator[Stack]:
    """A running simulator and receiver."""
    with simulator_stack() as running:
        yield running


def test_a_phone_message_is_a_signed_twilio_webhook(stack: Stack) -> None:
    """Sending from the phone posts Twilio's webhook parameters, validly signed."""
    result = stack.phone_send("hello agent")
    (hit,) = stack.receiver.webhooks()
    assert hit.is_signed()
    params = hit.params
    assert params["MessageSid"] == params["SmsSid"] == params["SmsMessageSid"] == result["sid"]
    assert result["sid"].startswith("SM") and len(result["sid"]) == 34
    assert (params["From"], params["To"], params["Body"]) == (
        f"whatsapp:{ADA}", SENDER, "hello agent",
    )  # fmt: skip
    assert (params["AccountSid"], params["ApiVersion"]) == (ACCOUNT, "2010-04-01")
    assert (params["WaId"], params["ProfileName"]) == (ADA.lstrip("+"), "Ada")
    assert (params["NumMedia"], params["NumSegments"], params["SmsStatus"]) == (
        "0",
        "1",
        "received",
    )
    assert "OriginalRepliedMessageSid" not in params
    assert result["relay_status"] == 200 and result["error"] is None


def test_a_reply_carries_the_quoted_sid(stack: Stack) -> None:
    """Replying to an agent message sends OriginalRepliedMessageSid of that message."""
    agent_sid = stack.send(body="Shall I deploy?").json()["sid"]
    stack.phone_send("yes", reply_to=agent_sid)
    params = stack.receiver.webhooks()[0].params
    assert params["OriginalRepliedMessageSid"] == agent_sid
    assert params["OriginalRepliedMessageSender"] == SENDER
    assert stack.sim.messages(ADA)[-1].reply_to == agent_sid


def test_replying_to_an_unknown_message_is_refused(stack: Stack) -> None:
    """A reply to a SID the phone never saw answers 422 and posts nothing."""
    response = stack.client.post(
        "/phone/api/send", json={"from": ADA, "body": "x", "reply_to": "SM" + "0" * 32}
    )
    assert response.status_code == 422 and stack.receiver.webhooks() == []


def test_an_image_from_the_phone_is_downloadable_by_the_relay(stack: Stack) -> None:
    """An attached image becomes MediaUrl0 (an MM message); the URL serves the bytes."""
    image = png_bytes("#1a73e8")
    data_url = "data:image/png;base64," + base64.b64encode(image).decode()
    result = stack.phone_send("look", media=data_url)
    params = stack.receiver.webhooks()[0].params
    assert result["sid"].startswith("MM") and params["NumMedia"] == "1"
    assert params["MediaContentType0"] == "image/png"
    download = httpx.get(params["MediaUrl0"], auth=(ACCOUNT, "any"), follow_redirects=True)
    assert download.status_code == 200 and download.content == image


def test_the_relay_refusing_is_reported(stack: Stack) -> None:
    """When the relay answers 403 the send says so, and the thread shows it as not delivered."""
    stack.receiver.webhook_status = 403
    result = stack.phone_send("are you there?")
    assert result["relay_status"] == 403 and "403" in result["error"]
    (shown,) = stack.client.get("/phone/api/messages", params={"number": ADA}).json()
    assert (shown["side"], shown["relay_status"]) == ("out", 403)


def test_an_unreachable_relay_is_reported() -> None:
    """With no relay listening, the send answers relay_status null and says why."""
    with bound_socket() as closed:
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/twilio/messages"
    with simulator_stack(webhook_url=url) as stack:
        result = stack.phone_send("hello?")
    assert result["relay_status"] is None and "unreachable" in result["error"]


def test_an_empty_message_is_refused(stack: Stack) -> None:
    """A phone message with neither text nor image answers 422."""
    response = stack.client.post("/phone/api/send", json={"from": ADA, "body": "  "})
    assert response.status_code == 422 and stack.receiver.webhooks() == []


def test_threads_are_per_number(stack: Stack) -> None:
    """Each simulated number has its own thread, in order, both directions."""
    stack.phone_send("from Ada", number=ADA)
    stack.send(to=ADA, body="to Ada")
    stack.phone_send("from Bob", number=BOB)
    ada = stack.client.get("/phone/api/messages", params={"number": ADA}).json()
    assert [(m["side"], m["body"]) for m in ada] == [("out", "from Ada"), ("in", "to Ada")]
    assert [m.body for m in stack.sim.messages(BOB)] == ["from Bob"]


def test_config_lists_contacts(stack: Stack) -> None:
    """The page's config offers the registered users and shows the sender number."""
    config = stack.client.get("/phone/api/config").json()
    assert config["whatsapp_from"] == SENDER
    assert config["contacts"] == [{"number": ADA, "name": "Ada"}, {"number": BOB, "name": "Bob"}]


def _events(response: httpx.Response) -> Iterator[tuple[str, Any]]:
    """(event, data) pairs of an SSE response."""
    event = "message"
    for line in response.iter_lines():
        if line.startswith("event:"):
            event = line.partition(":")[2].strip()
        elif line.startswith("data:"):
            yield event, json.loads(line.partition(":")[2])
            event = "message"


def test_stream_pushes_the_thread_live(stack: Stack) -> None:
    """The stream starts with the thread so far, then pushes new messages as they arrive."""
    stack.phone_send("before")
    with stack.client.stream(
        "GET", "/phone/api/stream", params={"number": ADA}, timeout=5
    ) as response:
        events = _events(response)
        kind, snapshot = next(events)
        assert kind == "snapshot" and [m["body"] for m in snapshot] == ["before"]
        sid = stack.send(body="live from the agent").json()["sid"]
        kind, pushed = next(events)
    assert kind == "message" and (pushed["sid"], pushed["side"]) == (sid, "in")
    assert pushed["body"] == "live from the agent"


def test_stream_refuses_a_bad_number(stack: Stack) -> None:
    """A stream for something that is not a phone number answers 422."""
    assert stack.client.get("/phone/api/stream", params={"number": "abc"}).status_code == 422


def test_page_and_assets_are_served(stack: Stack) -> None:
    """`/phone` serves the chat page; its CSS and JS come from the simulator itself."""
    page = stack.client.get("/phone")
    assert page.status_code == 200 and 'id="composer"' in page.text
    for name in ("phone.css", "phone.js"):
        assert stack.client.get(f"/phone/static/{name}").status_code == 200
    assert stack.client.get("/phone/static/secret.py").status_code == 404
    assert "http" not in page.text.replace("http-equiv", "")


def test_an_unencoded_plus_in_the_number_still_works(stack: Stack) -> None:
    """`?number=+1555…` typed by hand (the + arrives as a space) names the same phone."""
    stack.phone_send("hi")
    response = stack.client.get(f"/phone/api/messages?number={ADA}")
    assert response.status_code == 200 and [m["body"] for m in response.json()] == ["hi"]

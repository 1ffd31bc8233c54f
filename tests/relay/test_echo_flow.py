"""WhatsApp in, WhatsApp out, through the real relay and the phone simulator."""

from __future__ import annotations

import base64
import io
import re

import httpx
from PIL import Image
from twilio.request_validator import RequestValidator

from cockpit.core.formatting import markdown_to_whatsapp
from cockpit.store import inbox, outbox
from tests.live import wait_until
from tests.relay.conftest import ADA, AUTH_TOKEN, Stack


def _signed_post(stack: Stack, params: dict[str, str], token: str = AUTH_TOKEN) -> httpx.Response:
    url = f"{stack.relay_url}/twilio/messages"
    signature = RequestValidator(token).compute_signature(url, params)
    return httpx.post(url, data=params, headers={"X-Twilio-Signature": signature})


def _params(sid: str, body: str = "hello", sender: str = ADA) -> dict[str, str]:
    return {
        "MessageSid": sid, "AccountSid": "AC" + "1" * 32, "From": f"whatsapp:{sender}",
        "To": "whatsapp:+14155238886", "Body": body, "NumMedia": "0",
    }  # fmt: skip


def test_a_message_gets_its_echo(stack: Stack) -> None:
    """A message sent from the phone comes back as the same text, delivered."""
    result = stack.send("hello cockpit")
    assert result["relay_status"] == 200
    (reply,) = stack.wait_received(1)
    assert reply.body == "hello cockpit"
    wait_until(lambda: outbox.for_recipient(stack.db, ADA)[0].status == "read")


def test_unsigned_or_wrongly_signed_webhooks_get_403_and_leave_no_row(stack: Stack) -> None:
    """A forged webhook is refused and stores nothing."""
    url = f"{stack.relay_url}/twilio/messages"
    unsigned = httpx.post(url, data=_params("SMforged1"))
    forged = _signed_post(stack, _params("SMforged2"), token="not-the-token")
    assert (unsigned.status_code, forged.status_code) == (403, 403)
    assert inbox.count(stack.db) == 0
    assert outbox.for_recipient(stack.db, ADA) == []


def test_the_same_message_sid_five_times_yields_one_reply(stack: Stack) -> None:
    """Twilio's retries of one webhook produce a single echo."""
    for _ in range(5):
        assert _signed_post(stack, _params("SMrepeat", "only once")).status_code == 200
    stack.wait_received(1)
    stack.wait_settled()  # a wrong second reply would have been sent by now
    assert [m.body for m in stack.received()] == ["only once"]


def test_an_unknown_number_is_refused_politely_once(stack: Stack) -> None:
    """A stranger gets one refusal a day, and nothing is passed on."""
    stranger = "+15559990000"
    stack.send("let me in", sender=stranger)
    stack.send("please", sender=stranger)
    (refusal,) = stack.wait_received(1, number=stranger)
    stack.wait_settled()
    assert len(stack.received(stranger)) == 1
    assert "doesn't know your number" in refusal.body
    assert inbox.count(stack.db) == 0


def test_a_long_markdown_answer_arrives_in_ordered_chunks(stack: Stack) -> None:
    """3,000 characters of Markdown arrive as numbered chunks ≤ 1,600, fences balanced."""
    code = "\n".join(f"    value_{i} = compute({i})  # step {i}" for i in range(40))
    text = "# Report\n\nSome **bold** findings.\n\n```python\n" + code + "\n```\n\n"
    text += "\n\n".join(f"Paragraph {i}: " + "words " * 30 for i in range(8))
    assert len(text) >= 3000
    stack.send(text)
    wait_until(lambda: outbox.pending_count(stack.db) == 0 and stack.received(), timeout=20)
    bodies = [m.body for m in stack.received()]
    assert len(bodies) >= 2 and all(len(b) <= 1600 for b in bodies)
    assert all(re.search(rf"\({i}/{len(bodies)}\)", b) for i, b in enumerate(bodies, 1))
    assert all(b.count("```") % 2 == 0 for b in bodies)
    joined = "".join(re.sub(r"\s+|\(\d+/\d+\)|```(python)?", "", b) for b in bodies)
    assert joined == re.sub(r"\s+|```(python)?", "", markdown_to_whatsapp(text))


def test_an_image_comes_back_as_the_same_image(stack: Stack) -> None:
    """An image sent from the phone is echoed as media through a signed URL."""
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, format="PNG")
    data_url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    stack.send("", media=data_url)
    (reply,) = stack.wait_received(1)
    wait_until(lambda: reply.media and reply.media[0].data)
    assert Image.open(io.BytesIO(reply.media[0].data or b"")).size == (40, 30)
    assert reply.media[0].source_url and "/media/" in reply.media[0].source_url
    tampered = reply.media[0].source_url[:-3] + "xyz"
    assert httpx.get(tampered).status_code == 404


def test_malformed_requests_are_rejected_with_a_reason(stack: Stack) -> None:
    """Oversized, wrongly typed or unparsable webhooks get a 4xx and store nothing."""
    url = f"{stack.relay_url}/twilio/messages"
    form = {"content-type": "application/x-www-form-urlencoded"}
    big = httpx.post(url, content=b"Body=" + b"x" * 70000, headers=form)
    wrong_type = httpx.post(url, json={"Body": "hi"})
    bad_utf8 = httpx.post(url, content=b"Body=\xff\xfe", headers=form)
    assert (big.status_code, wrong_type.status_code, bad_utf8.status_code) == (413, 415, 400)
    params = _params("SMbadmedia") | {"NumMedia": "500"}
    assert _signed_post(stack, params).status_code == 400
    assert inbox.count(stack.db) == 0


def test_health_and_metrics_report_traffic(stack: Stack) -> None:
    """/healthz says ok and /metrics counts accepted and rejected webhooks."""
    stack.send("count me")
    httpx.post(f"{stack.relay_url}/twilio/messages", data=_params("SMnosig"))
    stack.wait_received(1)
    assert httpx.get(f"{stack.relay_url}/healthz").json()["status"] == "ok"
    text = httpx.get(f"{stack.relay_url}/metrics").text
    assert 'cockpit_inbound_messages_total{result="accepted"} 1.0' in text
    assert 'cockpit_inbound_messages_total{result="rejected"} 1.0' in text
    wait_until(lambda: 'cockpit_outbound_messages_total{result="sent"} 1.0' in
               httpx.get(f"{stack.relay_url}/metrics").text)  # fmt: skip

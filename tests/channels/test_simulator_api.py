"""The simulator's fake of Twilio's Messages API, over real HTTP on loopback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.utils import parsedate_to_datetime

import httpx
import pytest

from tests.channels.simulator_harness import (
    ACCOUNT,
    ADA,
    BOB,
    MESSAGES,
    SENDER,
    TOKEN,
    Stack,
    png_bytes,
    simulator_stack,
)
from tests.live import wait_until

SID = re.compile(r"^(SM|MM)[0-9a-f]{32}$")


@pytest.fixture
def stack() -> Iterator[Stack]:
    """A running simulator and receiver."""
    with simulator_stack() as running:
        yield running


def test_create_answers_a_twilio_shaped_message(stack: Stack) -> None:
    """A valid send answers 201 with Twilio's Message resource, status queued."""
    response = stack.send(body="hello Ada")
    assert response.status_code == 201
    message = response.json()
    assert SID.match(message["sid"]) and message["sid"].startswith("SM")
    assert message["account_sid"] == ACCOUNT
    assert (message["to"], message["from"]) == (f"whatsapp:{ADA}", SENDER)
    assert (message["body"], message["status"], message["direction"]) == (
        "hello Ada", "queued", "outbound-api",
    )  # fmt: skip
    assert (message["num_media"], message["num_segments"]) == ("0", "1")
    assert message["error_code"] is None and message["api_version"] == "2010-04-01"
    assert parsedate_to_datetime(message["date_created"]).tzinfo is not None
    assert message["uri"] == f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{message['sid']}.json"


def test_a_repeated_request_creates_a_second_message(stack: Stack) -> None:
    """Like Twilio, the API has no idempotency: the same request twice is two messages."""
    first, second = stack.send(body="same"), stack.send(body="same")
    assert first.json()["sid"] != second.json()["sid"]
    assert len(stack.sim.messages(ADA)) == 2


def test_wrong_credentials_are_refused_with_20003(stack: Stack) -> None:
    """A send with a wrong auth token answers 401 with Twilio's error 20003."""
    response = httpx.post(
        stack.url + MESSAGES,
        data={"To": f"whatsapp:{ADA}", "From": SENDER, "Body": "hi"},
        auth=(ACCOUNT, "wrong-token"),
    )
    assert response.status_code == 401
    error = response.json()
    assert (error["code"], error["status"]) == (20003, 401)
    assert error["more_info"].endswith("/20003") and error["message"]
    assert stack.sim.messages() == []


def test_another_account_in_the_path_is_not_found(stack: Stack) -> None:
    """Valid credentials used on another account's path answer 404 with error 20404."""
    other = MESSAGES.replace(ACCOUNT, "AC" + "f" * 32)
    response = stack.client.post(other, data={"To": f"whatsapp:{ADA}", "From": SENDER})
    assert (response.status_code, response.json()["code"]) == (404, 20404)


@pytest.mark.parametrize(
    ("to", "from_", "code"),
    [
        (ADA, SENDER, 21910),  # To without the whatsapp: prefix
        (f"whatsapp:{ADA}", "+14155238886", 63007),  # From without the prefix
        (f"whatsapp:{ADA}", "whatsapp:+19995550000", 63007),  # not our sender
        ("whatsapp:12", SENDER, 21211),  # not a phone number
    ],
)
def test_addresses_must_be_whatsapp_channel_addresses(
    stack: Stack, to: str, from_: str, code: int
) -> None:
    """To and From must be `whatsapp:` addresses, From our sender; else 400 with the code."""
    response = stack.client.post(MESSAGES, data={"To": to, "From": from_, "Body": "hi"})
    assert (response.status_code, response.json()["code"]) == (400, code)


def test_body_limit_is_1600_characters(stack: Stack) -> None:
    """A 1,600-character body is accepted; 1,601 answers 400 with error 21617."""
    assert stack.send(body="x" * 1600).status_code == 201
    response = stack.send(body="x" * 1601)
    assert (response.status_code, response.json()["code"]) == (400, 21617)


def test_body_limit_counts_utf16_units_like_twilio(stack: Stack) -> None:
    """Astral emoji count two: 800 of them fit, 1,599 letters and one emoji answer 21617."""
    assert stack.send(body="😀" * 800).status_code == 201
    for body in ("😀" * 801, "x" * 1599 + "😀"):
        response = stack.send(body=body)
        assert (response.status_code, response.json()["code"]) == (400, 21617)


def test_a_message_needs_a_body_or_media(stack: Stack) -> None:
    """Neither Body nor MediaUrl answers 400 with error 21602."""
    response = stack.send(body=None)
    assert (response.status_code, response.json()["code"]) == (400, 21602)


def test_callbacks_arrive_in_order_and_signed(stack: Stack) -> None:
    """Status callbacks come sent, delivered, read, each validly signed with Twilio's params."""
    sid = stack.send().json()["sid"]
    assert stack.statuses(sid, 3) == ["sent", "delivered", "read"]
    for hit in stack.receiver.callbacks(sid):
        assert hit.is_signed()
        assert hit.params["SmsSid"] == sid and hit.params["AccountSid"] == ACCOUNT
        assert hit.params["SmsStatus"] == hit.params["MessageStatus"]
        assert (hit.params["From"], hit.params["To"]) == (SENDER, f"whatsapp:{ADA}")
        assert hit.params["ApiVersion"] == "2010-04-01" and "ErrorCode" not in hit.params
    fetched = stack.client.get(MESSAGES.replace(".json", f"/{sid}.json")).json()
    assert fetched["status"] == "read" and fetched["date_sent"]


def test_a_callback_signature_breaks_when_params_change(stack: Stack) -> None:
    """The signature covers the parameters: a tampered callback does not validate."""
    sid = stack.send().json()["sid"]
    stack.statuses(sid, 1)
    hit = stack.receiver.callbacks(sid)[0]
    hit.params["MessageStatus"] = "failed"
    assert not hit.is_signed()


def test_media_is_downloaded_and_shown(stack: Stack) -> None:
    """A MediaUrl is fetched without credentials and its bytes served for the page."""
    url = f"{stack.receiver_url}/media/ok.png"
    message = stack.send(body="", MediaUrl=url).json()
    assert message["sid"].startswith("MM") and message["num_media"] == "1"
    assert stack.statuses(message["sid"], 3) == ["sent", "delivered", "read"]
    (sim_message,) = stack.sim.messages(ADA)
    image = stack.client.get(f"/phone/media/{sim_message.media[0].id}")
    assert image.headers["content-type"] == "image/png" and image.content == png_bytes()


@pytest.mark.parametrize("name", ["missing.png", "note.txt"])
def test_media_that_cannot_be_downloaded_fails_with_63019(stack: Stack, name: str) -> None:
    """A MediaUrl that 404s or is not an image makes the message failed with 63019."""
    sid = stack.send(MediaUrl=f"{stack.receiver_url}/media/{name}").json()["sid"]
    (hit,) = wait_until(lambda: stack.receiver.callbacks(sid))
    assert (hit.params["MessageStatus"], hit.params["ErrorCode"]) == ("failed", "63019")
    assert hit.is_signed()
    fetched = stack.client.get(MESSAGES.replace(".json", f"/{sid}.json")).json()
    assert (fetched["status"], fetched["error_code"]) == ("failed", 63019)


def test_list_filters_by_recipient_newest_first(stack: Stack) -> None:
    """The list answers Twilio's page shape, only the To asked for, newest first."""
    for body in ("one", "two"):
        stack.send(to=ADA, body=body)
    stack.send(to=BOB, body="bob")
    page = stack.client.get(MESSAGES, params={"To": f"whatsapp:{ADA}", "PageSize": 1}).json()
    assert [m["body"] for m in page["messages"]] == ["two"]
    assert (page["page"], page["page_size"]) == (0, 1)
    assert page["next_page_uri"] and "PageSize=1" in page["next_page_uri"]
    rest = stack.client.get(page["next_page_uri"]).json()
    assert [m["body"] for m in rest["messages"]] == ["one"] and rest["next_page_uri"] is None


def test_list_filters_by_date_sent(stack: Stack) -> None:
    """`DateSent>=` keeps today's messages and drops them for a future day."""
    stack.send(body="today")
    today = stack.client.get(MESSAGES, params={"DateSent>": "2000-01-01"}).json()
    future = stack.client.get(MESSAGES, params={"DateSent>": "2999-01-01"}).json()
    assert [m["body"] for m in today["messages"]] == ["today"] and future["messages"] == []


def test_list_needs_credentials(stack: Stack) -> None:
    """Listing without credentials answers 401 with error 20003."""
    response = httpx.get(stack.url + MESSAGES)
    assert (response.status_code, response.json()["code"]) == (401, 20003)


def test_unknown_message_is_not_found(stack: Stack) -> None:
    """Fetching a SID that does not exist answers 404 with error 20404."""
    response = stack.client.get(MESSAGES.replace(".json", f"/SM{'0' * 32}.json"))
    assert (response.status_code, response.json()["code"]) == (404, 20404)


def test_token_is_not_in_any_answer(stack: Stack) -> None:
    """The auth token never appears in the simulator's answers."""
    sid = stack.send().json()["sid"]
    stack.statuses(sid, 3)
    answers = [
        stack.client.get(MESSAGES).text,
        stack.client.get("/phone/api/faults").text,
        stack.client.get("/phone/api/config").text,
    ]
    assert not any(TOKEN in text for text in answers)

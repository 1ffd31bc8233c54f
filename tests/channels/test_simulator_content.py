"""The simulator's Content API and typing indicator, checked with the official `twilio`
client (its content.v1 and messaging.v2 resources), over real HTTP on loopback."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client
from twilio.rest.content.v1.content import ContentList

from cockpit.core import interactive
from tests.channels.simulator_harness import ACCOUNT, ADA, SENDER, TOKEN, Stack, simulator_stack
from tests.live import wait_until

TWILIO_HOST = re.compile(r"^https://[a-z]+\.twilio\.com")


class LoopbackHttpClient(TwilioHttpClient):
    """The twilio library's HTTP client, sending every Twilio domain to the simulator."""

    def __init__(self, base_url: str):
        super().__init__()
        self.base_url = base_url

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> TwilioResponse:
        return super().request(method, TWILIO_HOST.sub(self.base_url, url), *args, **kwargs)


@pytest.fixture
def stack() -> Iterator[Stack]:
    """A running simulator and receiver."""
    with simulator_stack() as running:
        yield running


@pytest.fixture
def twilio(stack: Stack) -> Client:
    """The official client with the simulator's account, pointed at the simulator."""
    return Client(ACCOUNT, TOKEN, http_client=LoopbackHttpClient(stack.url))


def _create(twilio: Client, body: dict[str, Any]) -> Any:
    return twilio.content.v1.contents.create(ContentList.ContentCreateRequest(body))


def test_the_official_client_creates_and_fetches_a_quick_reply(twilio: Client) -> None:
    """`contents.create` answers a Content resource with an HX sid that `fetch` finds."""
    created = _create(twilio, interactive.definition("approval"))
    assert re.fullmatch(r"HX[0-9a-f]{32}", created.sid) and created.account_sid == ACCOUNT
    assert created.date_created is not None and created.friendly_name == "cockpit_approval_v1"
    fetched = twilio.content.v1.contents(created.sid).fetch()
    assert fetched.types["twilio/quick-reply"]["actions"][1]["title"] == "Allow for session"


def test_a_definition_breaking_whatsapp_limits_is_refused(twilio: Client) -> None:
    """A button title over 20 characters (or no types at all) answers 400."""
    too_long = {"types": {"twilio/quick-reply": {"body": "Go?", "actions": [
        {"title": "A title far beyond twenty", "id": "x"}]}}}  # fmt: skip
    for body in (too_long, {"friendly_name": "nothing"}):
        with pytest.raises(TwilioRestException) as refused:
            _create(twilio, body)
        assert refused.value.status == 400 and refused.value.code == 20001


def test_a_content_message_shows_its_buttons_on_the_phone(twilio: Client, stack: Stack) -> None:
    """Sent with ContentSid + ContentVariables, the phone shows the body and three buttons
    whose ids are the variables; the body is what the Messages API lists."""
    sid = _create(twilio, interactive.definition("approval")).sid
    buttons = interactive.approval("ap_1234", "Run `npm test`?")
    sent = twilio.messages.create(
        to=f"whatsapp:{ADA}", from_=SENDER, content_sid=sid,
        content_variables=buttons.variables_json(),
    )  # fmt: skip
    shown = stack.sim.state.get(sent.sid)
    assert shown is not None and shown.body == "🔐 Run `npm test`?"
    assert [b["title"] for b in shown.buttons] == ["Allow", "Allow for session", "Deny"]
    assert next(b["id"] for b in shown.buttons) == "ap_1234:allow"
    assert twilio.messages(sent.sid).fetch().body == "🔐 Run `npm test`?"


def test_a_list_picker_shows_its_button_and_items(twilio: Client, stack: Stack) -> None:
    """A question with 5 options goes as a list-picker: a *Choose* button and 5 items."""
    options = ["PostgreSQL", "SQLite", "MySQL", "DuckDB", "A name of more than 24 chars"]
    asked = interactive.question("q_1", "Which database?", options)
    assert asked is not None
    sid = _create(twilio, interactive.definition(asked.kind)).sid
    sent = twilio.messages.create(to=f"whatsapp:{ADA}", from_=SENDER, content_sid=sid,
                                  content_variables=asked.variables_json())  # fmt: skip
    shown = stack.sim.state.get(sent.sid)
    assert shown is not None and shown.list_button == "Choose"
    assert [b["title"] for b in shown.buttons][-1] == "A name of more than 24…"
    assert [b["id"] for b in shown.buttons] == [f"q_1:{i}" for i in range(1, 6)]


def test_missing_variables_are_refused_with_21656(twilio: Client) -> None:
    """A button id left without its variable is Twilio's 21656, nothing is sent."""
    sid = _create(twilio, interactive.definition("approval")).sid
    with pytest.raises(TwilioRestException) as refused:
        twilio.messages.create(to=f"whatsapp:{ADA}", from_=SENDER, content_sid=sid,
                               content_variables=json.dumps({"1": "body only"}))  # fmt: skip
    assert refused.value.code == 21656


def test_buttons_do_not_go_outside_the_window(twilio: Client, stack: Stack) -> None:
    """Unapproved content (buttons) is refused outside the 24-hour window, like free text."""
    sid = _create(twilio, interactive.definition("approval")).sid
    stack.sim.set_window_age(ADA, 25 * 3600)
    sent = twilio.messages.create(
        to=f"whatsapp:{ADA}", from_=SENDER, content_sid=sid,
        content_variables=interactive.approval("ap_1", "Run it?").variables_json(),
    )  # fmt: skip
    wait_until(lambda: twilio.messages(sent.sid).fetch().status == "failed")
    assert twilio.messages(sent.sid).fetch().error_code == 63016


def test_a_tap_posts_button_payload_text_and_body(stack: Stack, twilio: Client) -> None:
    """Tapping a button sends Twilio's webhook with ButtonPayload, ButtonText and Body,
    quoting the message; a button the message does not have cannot be tapped."""
    sid = _create(twilio, interactive.definition("approval")).sid
    sent = twilio.messages.create(
        to=f"whatsapp:{ADA}", from_=SENDER, content_sid=sid,
        content_variables=interactive.approval("ap_9", "Run it?").variables_json(),
    )  # fmt: skip
    tap = {"from": ADA, "sid": sent.sid, "id": "ap_9:deny"}
    assert stack.client.post("/phone/api/tap", json=tap).status_code == 200
    hook = stack.receiver.webhooks()[-1]
    assert hook.is_signed()
    assert (hook.params["ButtonPayload"], hook.params["ButtonText"]) == ("ap_9:deny", "Deny")
    assert hook.params["Body"] == "Deny" and hook.params["OriginalRepliedMessageSid"] == sent.sid
    forged = {"from": ADA, "sid": sent.sid, "id": "ap_1:allow"}
    assert stack.client.post("/phone/api/tap", json=forged).status_code == 422


def test_the_typing_indicator_marks_read_and_shows_typing(stack: Stack, twilio: Client) -> None:
    """The official client's typing_indicator.create answers success; the phone shows
    "typing…" until the next message, and the inbound message is read."""
    inbound = stack.phone_send("run the tests")["sid"]
    answer = twilio.messaging.v2.typing_indicator.create(channel="whatsapp", message_id=inbound)
    assert answer.success is True
    assert stack.sim.state.typing_until(ADA) is not None
    assert stack.sim.state.get(inbound).status == "read"  # type: ignore[union-attr]
    twilio.messages.create(to=f"whatsapp:{ADA}", from_=SENDER, body="done")
    assert stack.sim.state.typing_until(ADA) is None


def test_the_typing_indicator_refuses_what_twilio_refuses(stack: Stack, twilio: Client) -> None:
    """An unknown message is 404, a channel other than whatsapp 400, bad credentials 401."""
    inbound = stack.phone_send("hello")["sid"]
    with pytest.raises(TwilioRestException) as unknown:
        twilio.messaging.v2.typing_indicator.create(channel="whatsapp", message_id="SM" + "0" * 32)
    assert unknown.value.status == 404
    with pytest.raises(TwilioRestException) as channel:
        twilio.messaging.v2.typing_indicator.create(channel="sms", message_id=inbound)
    assert channel.value.status == 400
    stranger = Client(ACCOUNT, "wrong-token", http_client=LoopbackHttpClient(stack.url))
    with pytest.raises(TwilioRestException) as denied:
        stranger.messaging.v2.typing_indicator.create(channel="whatsapp", message_id=inbound)
    assert denied.value.status == 401

"""The simulator keeps WhatsApp's 24-hour window: free-form refused with 63016, templates go."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from cockpit.core.clock import ManualClock
from tests.channels.simulator_harness import ADA, BOB, Stack, simulator_stack

TEMPLATE = "HX" + "a1" * 16
DAY = 24 * 3600


@pytest.fixture
def stack() -> Iterator[Stack]:
    """A running simulator that knows one approved template."""
    with simulator_stack() as running:
        running.sim.templates[TEMPLATE] = "Hi {{1}}, your task finished. Reply to see the result."
        yield running


def _thread_bodies(stack: Stack, number: str = ADA) -> list[str]:
    messages = stack.client.get("/phone/api/messages", params={"number": number}).json()
    return [m["body"] for m in messages]


def test_free_form_after_24_hours_fails_with_63016_and_never_reaches_the_phone(
    stack: Stack,
) -> None:
    """As at Twilio, the send is accepted, then fails by callback with 63016; not on the phone."""
    clock = ManualClock(running=True)
    stack.sim.clock = clock.now
    stack.phone_send("hi")
    clock.advance(timedelta(hours=25).total_seconds())
    response = stack.send(body="late answer")
    assert response.status_code == 201
    sid = response.json()["sid"]
    assert stack.statuses(sid, 1) == ["failed"]
    (callback,) = stack.receiver.callbacks(sid)
    assert callback.params["ErrorCode"] == "63016"
    fetched = stack.client.get(f"{response.request.url.path[:-5]}/{sid}.json").json()
    assert (fetched["status"], fetched["error_code"]) == ("failed", 63016)
    assert "late answer" not in _thread_bodies(stack)


def test_the_sync_knob_refuses_the_request_itself_with_twilios_error_object(stack: Stack) -> None:
    """With `window_refusal_sync`, the create request answers 400 with code 63016."""
    stack.client.post("/phone/api/faults", json={"window_refusal_sync": 1})
    stack.client.post("/phone/api/window", json={"number": ADA, "age_seconds": DAY + 60})
    response = stack.send(body="late answer")
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == 63016 and error["status"] == 400
    assert "outside the allowed window" in error["message"]
    assert error["more_info"].endswith("/63016")
    assert stack.sim.messages(ADA) == []


def test_a_template_goes_outside_the_window_and_the_phone_shows_its_text(stack: Stack) -> None:
    """ContentSid + ContentVariables send the template's text, shown on the phone page."""
    stack.client.post("/phone/api/window", json={"number": ADA, "age_seconds": 2 * DAY})
    assert stack.client.get("/phone/api/window", params={"number": ADA}).json()["open"] is False
    response = stack.send(body=None, ContentSid=TEMPLATE, ContentVariables=json.dumps({"1": "Ada"}))
    assert response.status_code == 201
    assert response.json()["body"] == "Hi Ada, your task finished. Reply to see the result."
    assert stack.statuses(response.json()["sid"], 3) == ["sent", "delivered", "read"]
    page = stack.client.get("/phone/api/messages", params={"number": ADA}).json()
    assert [(m["body"], m["template"]) for m in page] == [
        ("Hi Ada, your task finished. Reply to see the result.", True)
    ]


def test_an_unknown_template_or_bad_variables_are_refused(stack: Stack) -> None:
    """An unapproved ContentSid answers 21655; variables that are not a JSON object 21656."""
    unknown = stack.send(body=None, ContentSid="HX" + "0" * 32)
    assert (unknown.status_code, unknown.json()["code"]) == (400, 21655)
    bad = stack.send(body=None, ContentSid=TEMPLATE, ContentVariables="[1, 2]")
    assert (bad.status_code, bad.json()["code"]) == (400, 21656)


def test_writing_reopens_the_window_and_other_numbers_are_untouched(stack: Stack) -> None:
    """After the phone writes, free-form goes again; a number never heard from is open."""
    stack.client.post("/phone/api/window", json={"number": ADA, "age_seconds": 2 * DAY})
    stack.phone_send("back")
    sid = stack.send(body="welcome back").json()["sid"]
    assert stack.statuses(sid, 3) == ["sent", "delivered", "read"]
    other = stack.send(to=BOB, body="first contact").json()["sid"]
    assert stack.statuses(other, 3) == ["sent", "delivered", "read"]
    assert _thread_bodies(stack, BOB) == ["first contact"]


def test_window_requests_are_checked(stack: Stack) -> None:
    """A negative age or a malformed number is refused with 422."""
    assert (
        stack.client.post("/phone/api/window", json={"number": ADA, "age_seconds": -1}).status_code
        == 422
    )
    assert (
        stack.client.post(
            "/phone/api/window", json={"number": "nope", "age_seconds": 1}
        ).status_code
        == 422
    )


def test_an_unreachable_handset_is_reported_undelivered_with_30003(stack: Stack) -> None:
    """The `undelivered_next` knob: accepted, then `undelivered` with 30003, not on the phone."""
    stack.client.post("/phone/api/faults", json={"undelivered_next": 1})
    sid = stack.send(body="into the void").json()["sid"]
    assert stack.statuses(sid, 1) == ["undelivered"]
    assert stack.receiver.callbacks(sid)[0].params["ErrorCode"] == "30003"
    assert _thread_bodies(stack) == []
    again = stack.send(body="phone is on again").json()["sid"]
    assert stack.statuses(again, 3) == ["sent", "delivered", "read"]

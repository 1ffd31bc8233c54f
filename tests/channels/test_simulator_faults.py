"""The simulator's fault knobs: each makes it misbehave the way its name says."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.channels.simulator_harness import ADA, MESSAGES, SENDER, Stack, simulator_stack
from tests.live import wait_until


@pytest.fixture
def stack() -> Iterator[Stack]:
    """A running simulator and receiver."""
    with simulator_stack() as running:
        yield running


def faults(stack: Stack, **knobs: Any) -> dict[str, Any]:
    """Set fault knobs over HTTP, as a test in another process would."""
    response = stack.client.post("/phone/api/faults", json=knobs)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def attempts(stack: Stack) -> list[dict[str, Any]]:
    """The recorded send attempts, over HTTP."""
    result: list[dict[str, Any]] = stack.client.get("/phone/api/attempts").json()
    return result


def test_fail_next_answers_errors_then_recovers(stack: Stack) -> None:
    """`fail_next=2` makes two sends answer 500 with Twilio's error JSON; the third succeeds."""
    faults(stack, fail_next=2)
    answers = [stack.send() for _ in range(3)]
    assert [a.status_code for a in answers] == [500, 500, 201]
    assert answers[0].json()["code"] == 20500 and answers[0].json()["status"] == 500
    assert len(stack.sim.messages()) == 1


def test_429_carries_retry_after(stack: Stack) -> None:
    """A 429 fault answers Twilio's 20429 with the configured Retry-After header."""
    faults(stack, fail_next=1, fail_status=429, retry_after=7)
    response = stack.send()
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7" and response.json()["code"] == 20429


def test_every_attempt_is_recorded_with_its_time(stack: Stack) -> None:
    """Failed and successful attempts are all listed in order, with times and outcomes."""
    faults(stack, fail_next=1, fail_status=503)
    stack.send(body="first try")
    stack.send(body="second try")
    recorded = attempts(stack)
    assert [(a["status"], a["fault"], a["body"]) for a in recorded] == [
        (503, "fail", "first try"),
        (201, None, "second try"),
    ]
    assert recorded[0]["monotonic"] <= recorded[1]["monotonic"]
    assert recorded[1]["sid"] == stack.sim.messages()[0].sid
    assert len(stack.sim.attempts) == 2


def test_hang_holds_the_request_without_recording_a_message(stack: Stack) -> None:
    """`hang_next` holds the send open and records no message; released, it answers 503."""
    faults(stack, hang_next=1)
    answers: list[httpx.Response] = []
    worker = threading.Thread(target=lambda: answers.append(stack.send()))
    worker.start()
    wait_until(lambda: attempts(stack))
    assert answers == [] and stack.sim.messages() == []
    assert stack.client.post("/phone/api/release").status_code == 200
    worker.join(timeout=10)
    assert answers[0].status_code == 503 and stack.sim.messages() == []
    assert attempts(stack)[0]["fault"] == "hang"


def test_hang_gives_up_after_hang_seconds(stack: Stack) -> None:
    """A hung send answers 503 by itself once `hang_seconds` have passed."""
    faults(stack, hang_next=1, hang_seconds=0.2)
    response = stack.send()
    assert (response.status_code, response.json()["code"]) == (503, 20503)


def test_accept_then_hang_creates_the_message_but_loses_the_answer(stack: Stack) -> None:
    """`accept_then_hang_next` records and delivers the message while the answer never comes."""
    faults(stack, accept_then_hang_next=1)
    with pytest.raises(httpx.ReadTimeout):
        stack.client.post(
            MESSAGES,
            data={"To": f"whatsapp:{ADA}", "From": SENDER, "Body": "maybe sent"},
            timeout=0.5,
        )
    listed = stack.client.get(MESSAGES, params={"To": f"whatsapp:{ADA}"}).json()["messages"]
    assert [m["body"] for m in listed] == ["maybe sent"]
    assert attempts(stack)[0]["fault"] == "accept_then_hang"
    stack.client.post("/phone/api/release")


def test_drop_callbacks_loses_the_next_ones(stack: Stack) -> None:
    """`drop_callbacks=1` drops the `sent` callback; delivered and read still arrive."""
    faults(stack, drop_callbacks=1)
    sid = stack.send().json()["sid"]
    assert stack.statuses(sid, 2) == ["delivered", "read"]
    wait_until(lambda: stack.sim.messages()[0].status == "read")
    assert [h.params["MessageStatus"] for h in stack.receiver.callbacks(sid)] == [
        "delivered",
        "read",
    ]


def test_duplicate_callbacks_sends_one_twice(stack: Stack) -> None:
    """`duplicate_callbacks=1` delivers the `sent` callback twice, both signed."""
    faults(stack, duplicate_callbacks=1)
    sid = stack.send().json()["sid"]
    assert stack.statuses(sid, 4) == ["sent", "sent", "delivered", "read"]
    assert all(hit.is_signed() for hit in stack.receiver.callbacks(sid))


def test_callback_delay_spaces_the_callbacks(stack: Stack) -> None:
    """Callbacks are at least `callback_delay` seconds apart."""
    faults(stack, callback_delay=0.3)
    sid = stack.send().json()["sid"]
    stack.statuses(sid, 3)
    times = [hit.at for hit in stack.receiver.callbacks(sid)]
    assert times[1] - times[0] >= 0.25 and times[2] - times[1] >= 0.25


def test_duplicate_webhooks_delivers_one_message_twice(stack: Stack) -> None:
    """`duplicate_webhooks=1` posts the next phone message twice with the same MessageSid."""
    faults(stack, duplicate_webhooks=1)
    sent = stack.phone_send("twice")
    stack.phone_send("once")
    sids = [hit.params["MessageSid"] for hit in stack.receiver.webhooks()]
    assert sids.count(sent["sid"]) == 2 and len(sids) == 3


def test_reset_clears_messages_attempts_and_faults(stack: Stack) -> None:
    """`POST /phone/api/reset` forgets messages and attempts and restores every knob."""
    stack.send()
    defaults = stack.client.get("/phone/api/faults").json()
    faults(stack, fail_next=3, duplicate_webhooks=2, callback_delay=1.5)
    assert stack.client.post("/phone/api/reset").status_code == 200
    assert stack.client.get("/phone/api/faults").json() == defaults
    assert stack.sim.messages() == [] and attempts(stack) == []


def test_unknown_or_negative_knobs_are_refused(stack: Stack) -> None:
    """Setting a knob that does not exist, or a negative count, answers 422."""
    assert stack.client.post("/phone/api/faults", json={"explode": 1}).status_code == 422
    assert stack.client.post("/phone/api/faults", json={"fail_next": -1}).status_code == 422


def test_faults_are_plain_attributes_for_in_process_tests(stack: Stack) -> None:
    """Setting `sim.faults.fail_next` directly works like the HTTP knob."""
    stack.sim.faults.fail_next = 1
    assert stack.send().status_code == 500
    assert stack.send().status_code == 201

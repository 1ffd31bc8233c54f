"""Hypothesis: validly signed webhooks with arbitrary field values never get a 5xx.

Schemathesis only sends unsigned requests, which stop at the signature check; this
property reaches parsing and storage, where a signed but strange value (a NUL, a
non-ASCII digit) once crashed the relay.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile.conftest import params, signed_post
from tests.relay.conftest import ADA, Stack

ANY_TEXT = st.text(max_size=80)
INBOUND = st.fixed_dictionaries(
    {
        "MessageSid": st.one_of(st.text(min_size=1, max_size=70), st.just("SMfixed")),
        "From": st.one_of(st.just(f"whatsapp:{ADA}"), st.just("whatsapp:+15559990000"), ANY_TEXT),
        "Body": st.text(max_size=400),
        "NumMedia": st.one_of(st.sampled_from(["0", "1", "10", "11"]), ANY_TEXT),
    },
    optional={
        "MediaUrl0": st.one_of(st.just("http://127.0.0.1:9/x.png"), ANY_TEXT),
        "ProfileName": ANY_TEXT, "WaId": ANY_TEXT, "ButtonPayload": ANY_TEXT,
        "OriginalRepliedMessageSid": ANY_TEXT, "To": ANY_TEXT,
    },
)  # fmt: skip
STATUS = st.fixed_dictionaries(
    {"MessageSid": ANY_TEXT, "MessageStatus": ANY_TEXT},
    optional={"ErrorCode": ANY_TEXT, "oid": ANY_TEXT},
)
FUZZ = settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


def test_signed_messages_with_any_values_get_200_or_400(stack: Stack) -> None:
    """Whatever Twilio-shaped values a signed message carries, the answer is 200 or 400."""

    @FUZZ
    @given(form=INBOUND)
    def check(form: dict[str, str]) -> None:
        response = signed_post(stack, params("SMbase") | form)
        assert response.status_code in (200, 400), (form, response.text)

    check()


def test_signed_status_callbacks_with_any_values_get_200_or_400(stack: Stack) -> None:
    """Whatever values a signed status callback carries, the answer is 200 or 400."""

    @FUZZ
    @given(form=STATUS)
    def check(form: dict[str, Any]) -> None:
        oid = form.pop("oid", None)
        path = "/twilio/status" + (f"?{urlencode({'oid': oid})}" if oid is not None else "")
        response = signed_post(stack, form, path=path)
        assert response.status_code in (200, 400), (form, oid, response.text)

    check()

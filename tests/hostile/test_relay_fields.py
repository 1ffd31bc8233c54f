"""Fields longer than the database's columns: the message is kept, never a 500 (issue 19.2)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from cockpit.core.messages import Inbound
from cockpit.errors import InvalidDataError
from cockpit.store import inbox, users
from cockpit.store.db import Database
from cockpit.store.models import InboundMessage
from tests.hostile.conftest import params, signed_post
from tests.relay.conftest import ADA, Stack


def test_over_long_profile_name_wa_id_and_replied_sid_keep_the_message(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """A signed message with a 300-character ProfileName, a 40-digit WaId and a 100-character
    OriginalRepliedMessageSid is stored and answered 200 on both databases, the name cut
    to 200 characters and the impossible identifiers dropped."""
    caplog.set_level(logging.INFO, logger="cockpit")
    form = params(
        "SMlongfields", body="keep me",
        ProfileName="N" * 300, WaId="1" * 40, OriginalRepliedMessageSid="SM" + "a" * 98,
    )  # fmt: skip
    assert signed_post(stack, form).status_code == 200
    with stack.db.transaction() as s:
        row = s.scalars(select(InboundMessage)).one()
    assert (row.provider_sid, row.body) == ("SMlongfields", "keep me")
    assert row.profile_name == "N" * 200
    assert row.wa_id is None and row.replied_sid is None
    stack.wait_for("keep me")  # the echo agent answered it: the message went the whole way
    assert "Traceback" not in caplog.text


def test_a_status_callback_with_an_over_long_sid_gets_400(stack: Stack) -> None:
    """A signed status callback whose MessageSid is longer than any sid gets 400 on both
    databases (PostgreSQL answered 500 on every retry)."""
    status = {"MessageSid": "SM" + "b" * 98, "MessageStatus": "read"}
    assert signed_post(stack, status, path="/twilio/status").status_code == 400


# PostgreSQL only: SQLite does not enforce column widths (the parser keeps both alike).
@pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_a_value_the_database_refuses_is_invalid_data_without_the_message_in_it(
    db: Database,
) -> None:
    """A value PostgreSQL refuses (a WaId past its column) raises InvalidDataError, which the
    webhook answers 400, and the error names neither the body nor the phone number."""
    ada = users.add_user(db, ADA, "Ada")
    msg = Inbound(sid="SMtoolong", from_number=ADA, to="whatsapp:+1", body="secret body",
                  wa_id="1" * 40)  # fmt: skip
    with pytest.raises(InvalidDataError) as raised:
        inbox.store_inbound(db, msg, ada.id)
    assert "secret body" not in str(raised.value) and ADA not in str(raised.value)
    assert "too long" in str(raised.value)

"""The relay's side of WhatsApp's 24-hour window: the re-open template, and holding
messages WhatsApp refused (docs/whatsapp-window.md, decision 0010)."""

from __future__ import annotations

from datetime import datetime

from cockpit.core.messages import OutboundDraft
from cockpit.core.window import OUTSIDE_WINDOW, REOPEN_TEXT, reopen_key
from cockpit.log import get_logger
from cockpit.relay.runtime import Relay
from cockpit.store import window_hold
from cockpit.store.window_hold import Reopen

log = get_logger(__name__)

CLOSED = "held: WhatsApp's 24-hour window is closed; sent when the user writes again"


def reopener(relay: Relay) -> Reopen:
    """Makes the template draft of a closed window, or None when none is configured."""

    def make(user_id: int, phone: str, last_inbound: datetime | None) -> OutboundDraft | None:
        sid = relay.settings.twilio_content_sid_reopen
        if not sid:
            return None
        return OutboundDraft(
            key=reopen_key(user_id, last_inbound), to=phone, body=REOPEN_TEXT,
            kind="template", user_id=user_id, content_sid=sid,
        )  # fmt: skip

    return make


def warn_if_no_template(relay: Relay, outbound_id: int, user_id: int | None) -> None:
    """Tell the operator, in the log, why held messages wait for the user alone."""
    if not relay.settings.twilio_content_sid_reopen:
        log.warning(
            "window.no_template",
            outbound_id=outbound_id,
            user_id=user_id,
            advice="set TWILIO_CONTENT_SID_REOPEN to an approved template's Content SID; "
            "until then messages outside the 24-hour window wait until the user writes",
        )


def refused_by_callback(
    relay: Relay, row_id: int | None, sid: str, status: str, code: int | None
) -> bool:
    """A status callback with 63016: hold the message and queue the template (True);
    False for every other callback, which is then recorded as usual."""
    if code != OUTSIDE_WINDOW or status not in ("failed", "undelivered"):
        return False
    reason = f"{CLOSED} (Twilio error {OUTSIDE_WINDOW})"
    held = window_hold.hold_refused(relay.db, row_id=row_id, sid=sid, reason=reason,
                               reopen=reopener(relay))  # fmt: skip
    if held:
        log.info("window.refused_by_callback", outbound_id=row_id, sid=sid)
        warn_if_no_template(relay, row_id or 0, None)
    return held

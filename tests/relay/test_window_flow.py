"""WhatsApp's 24-hour window end to end: relay and phone simulator over real HTTP.

The relay's and the simulator's clocks are moved forward instead of waiting a day.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from cockpit.config import load_settings
from cockpit.core.clock import ManualClock
from cockpit.core.messages import OutboundDraft
from cockpit.core.window import REOPEN_TEXT
from cockpit.embedded import DEMO_PHONE, create_local_app, prepare_local
from cockpit.store import outbox, users
from cockpit.store.db import Database
from cockpit.store.migrate import upgrade
from tests.live import bound_socket, serve, wait_until
from tests.relay.conftest import ADA, Stack, running_stack

TEMPLATE = "HX" + "5e" * 16
LATER = timedelta(hours=25)


@contextmanager
def _start(db_url: str, data_dir: Path, **overrides: object) -> Iterator[Stack]:
    settings = {"twilio_content_sid_reopen": TEMPLATE} | overrides
    with running_stack(db_url, data_dir, **settings) as stack:
        stack.sim.templates[TEMPLATE] = REOPEN_TEXT
        yield stack


@pytest.fixture
def window_stack(db_url: str, tmp_path: Path) -> Iterator[Stack]:
    """Relay (echo agent) + simulator that knows the re-open template, on both databases."""
    with _start(db_url, tmp_path / "data") as stack:
        yield stack


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite database (for the cases where the database does not matter)."""
    url = f"sqlite:///{tmp_path / 'window.db'}"
    upgrade(url)
    return url


def _produce(stack: Stack, *bodies: str) -> None:
    """Messages the relay writes for Ada on its own (a task's result, its cost line)."""
    ada = users.find_by_phone(stack.db, ADA)
    assert ada is not None
    drafts = [
        OutboundDraft(key=f"late:{body}", to=ADA, body=body, user_id=ada.id) for body in bodies
    ]
    outbox.enqueue_now(stack.db, drafts)


def _statuses(stack: Stack, *bodies: str) -> list[str]:
    rows = {r.body: r.status for r in outbox.for_recipient(stack.db, ADA)}
    return [rows.get(body, "absent") for body in bodies]


def _templates_on_phone(stack: Stack) -> int:
    return sum(m.content_sid == TEMPLATE for m in stack.received())


def test_a_message_25_hours_later_goes_out_as_the_template_and_the_rest_follows_the_reply(
    window_stack: Stack,
) -> None:
    """25 h after Ada's last message the phone gets the template only; her reply releases the
    held messages in order, before the answer to the reply."""
    stack = window_stack
    assert stack.relay is not None
    clock = ManualClock(running=True)  # the relay and the simulator share one
    stack.relay.clock, stack.sim.clock = clock, clock.now
    stack.send("hello")
    stack.wait_received(1)
    clock.advance(LATER.total_seconds())
    _produce(stack, "✅ Done: the tests pass.", "💰 $0.02 · 3 turns")
    stack.wait_for(REOPEN_TEXT)
    wait_until(lambda: _statuses(stack, "✅ Done: the tests pass.", "💰 $0.02 · 3 turns")
               == ["held", "held"])  # fmt: skip
    assert stack.bodies() == ["hello", REOPEN_TEXT]
    assert _templates_on_phone(stack) == 1
    assert not any(a.body and a.body.startswith("✅") for a in stack.sim.attempts)  # never tried
    stack.send("ok")
    stack.wait_received(5)
    assert stack.bodies() == [
        "hello", REOPEN_TEXT, "✅ Done: the tests pass.", "💰 $0.02 · 3 turns", "ok",
    ]  # fmt: skip
    assert _statuses(stack, "✅ Done: the tests pass.") != ["held"]


@pytest.mark.parametrize("sync", [False, True], ids=["by-callback", "by-answer"])
def test_63016_mid_conversation_holds_sends_one_template_and_releases_on_reply(
    sqlite_url: str, tmp_path: Path, sync: bool
) -> None:
    """WhatsApp closes the window before the relay expected: whether Twilio says 63016 in its
    answer or by callback, the messages are held, one template goes, the reply releases them."""
    with _start(sqlite_url, tmp_path / "data") as stack:
        stack.sim.faults.window_refusal_sync = int(sync)
        stack.send("hello")
        stack.wait_received(1)
        stack.sim.set_window_age(ADA, LATER.total_seconds())  # the relay still thinks it's open
        _produce(stack, "one", "two", "three")
        stack.wait_for(REOPEN_TEXT)
        wait_until(lambda: _statuses(stack, "one", "two", "three") == ["held"] * 3)
        # One refused try of "one", then the template (no Body); "two" and "three" untried.
        assert [a.body for a in stack.sim.attempts] == ["hello", "one", None]
        assert [r.kind for r in outbox.for_recipient(stack.db, ADA)].count("template") == 1
        assert stack.bodies() == ["hello", REOPEN_TEXT]
        stack.send("ok")
        stack.wait_received(6)
        assert stack.bodies() == ["hello", REOPEN_TEXT, "one", "two", "three", "ok"]
        assert _templates_on_phone(stack) == 1


def test_without_a_template_messages_are_held_the_operator_warned_and_the_reply_releases(
    sqlite_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No TWILIO_CONTENT_SID_REOPEN: nothing is sent outside the window, a warning says what
    to set, and Ada's next message brings the held one."""
    caplog.set_level(logging.WARNING, logger="cockpit")
    with _start(sqlite_url, tmp_path / "data", twilio_content_sid_reopen=None) as stack:
        assert stack.relay is not None
        clock = ManualClock(running=True)  # the relay and the simulator share one
        stack.relay.clock, stack.sim.clock = clock, clock.now
        stack.send("hello")
        stack.wait_received(1)
        clock.advance(LATER.total_seconds())
        _produce(stack, "late result")
        wait_until(lambda: _statuses(stack, "late result") == ["held"])
        assert stack.bodies() == ["hello"]
        warnings = [r for r in caplog.records if r.getMessage() == "window.no_template"]
        assert warnings and "TWILIO_CONTENT_SID_REOPEN" in str(warnings[0].__dict__["fields"])
        stack.send("back")
        stack.wait_received(3)
        assert stack.bodies() == ["hello", "late result", "back"]


def test_cockpit_up_approves_its_own_template_so_a_closed_window_still_reaches_the_phone(
    tmp_path: Path,
) -> None:
    """`cockpit up` (relay + simulator on one port): the phone's window closes, the relay's
    message is refused with 63016, the phone shows the template, the reply brings the rest."""
    settings = load_settings(data_dir=tmp_path / "data", agent="echo", poll_seconds=0.1)
    sock = bound_socket()
    prepare_local(settings, "127.0.0.1", sock.getsockname()[1])
    upgrade(settings.effective_database_url)
    app, sim = create_local_app(settings)
    assert sim is not None
    db = Database(settings.effective_database_url)
    with serve(app, sock) as base, httpx.Client(base_url=base, timeout=10) as phone:

        def thread() -> list[str]:
            messages = phone.get("/phone/api/messages", params={"number": DEMO_PHONE}).json()
            return [m["body"] for m in messages if m["side"] == "in"]

        phone.post("/phone/api/send", json={"from": DEMO_PHONE, "body": "hello"})
        wait_until(lambda: thread() == ["hello"])
        phone.post("/phone/api/window", json={"number": DEMO_PHONE, "age_seconds": 90000})
        demo = users.find_by_phone(db, DEMO_PHONE)
        assert demo is not None
        late = OutboundDraft(key="late", to=DEMO_PHONE, body="Build finished.", user_id=demo.id)
        outbox.enqueue_now(db, [late])
        wait_until(lambda: thread() == ["hello", REOPEN_TEXT])
        phone.post("/phone/api/send", json={"from": DEMO_PHONE, "body": "ok"})
        wait_until(lambda: thread() == ["hello", REOPEN_TEXT, "Build finished.", "ok"])
    db.dispose()

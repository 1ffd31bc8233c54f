"""Buttons and lists as pure rules: which template, which variables, which tap."""

from __future__ import annotations

import pytest

from cockpit.core import interactive
from cockpit.core.host_events import EventContext, translate

CTX = EventContext(last_progress_ts=None, progress_interval=20.0, buttons=True)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ap_1a2b:allow", interactive.Tap("ap_1a2b", "allow")),
        ("q_9:3", interactive.Tap("q_9", "3")),
        ("ap_1:x:deny", interactive.Tap("ap_1:x", "deny")),
        ("yes", None),
        ("other:1", None),
        ("ap_1:", None),
        (None, None),
        ("ap_" + "x" * 300 + ":allow", None),
    ],
)
def test_a_button_payload_names_one_prompt(raw: str | None, expected: object) -> None:
    """Only our own `<prompt id>:<choice>` ids are taps; anything else is not."""
    assert interactive.parse_payload(raw) == expected


@pytest.mark.parametrize(
    ("count", "kind"), [(1, "buttons1"), (3, "buttons3"), (4, "list4"), (10, "list10")]
)
def test_options_become_buttons_then_a_list(count: int, kind: str) -> None:
    """Up to 3 options are buttons, 4 to 10 a list; each item's id names the option."""
    asked = interactive.question("q_1", "Pick one", [f"option {n}" for n in range(count)])
    assert asked is not None and asked.kind == kind
    definition = interactive.definition(kind)
    assert set(definition["types"]) >= {"twilio/text"}
    assert f"q_1:{count}" in asked.variables.values()


def test_more_than_ten_options_stay_numbered_text() -> None:
    """Eleven options: no template; the question goes as numbered text."""
    assert interactive.question("q_1", "Pick", [str(n) for n in range(11)]) is None
    event = {"type": "question", "question_id": "q_1", "question": "Pick",
             "options": [str(n) for n in range(11)]}  # fmt: skip
    (reply,) = translate(event, CTX).replies
    assert reply.interactive is None and "*11* 10" in reply.body


def test_an_approval_carries_buttons_and_its_numbered_fallback() -> None:
    """The approval's reply has the approval template's variables and, as its body, the
    numbered text sent when buttons cannot go; it replaces the held progress line."""
    event = {"type": "approval_request", "approval_id": "ap_7", "summary": "Run `ls`?"}
    (reply,) = translate(event, CTX).replies
    assert reply.interactive is not None and reply.interactive.kind == "approval"
    assert reply.interactive.variables == {
        "1": "🔐 Run `ls`?", "2": "ap_7:allow", "3": "ap_7:allow_session", "4": "ap_7:deny",
    }  # fmt: skip
    assert "Reply *1* allow" in reply.body and reply.supersedes == "progress"


def test_titles_longer_than_whatsapp_allows_are_clipped_and_listed_whole() -> None:
    """A button title over 20 characters is clipped with …; the body lists it in full."""
    long = "Use the PostgreSQL database server"
    asked = interactive.question("q_2", "Which?", ["SQLite", long])
    assert asked is not None and all(len(v) <= 20 for k, v in asked.variables.items()
                                     if k in ("2", "4"))  # fmt: skip
    assert long in asked.variables["1"]


def test_the_definition_hash_changes_with_the_definition() -> None:
    """Each kind has its own key; the key is stable for the same definition."""
    keys = {interactive.definition_hash(interactive.definition(k))
            for k in ("approval", "buttons2", "list5")}  # fmt: skip
    assert len(keys) == 3
    approval = interactive.definition("approval")
    assert interactive.definition_hash(approval) == interactive.definition_hash(dict(approval))

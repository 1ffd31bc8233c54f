"""What a message means, one row per precedence rule of `core/intents.py`."""

from __future__ import annotations

from typing import Any

import pytest

from cockpit.core.intents import (
    AlreadyAnswered,
    AnswerQuestion,
    Decide,
    Intent,
    Prompt,
    RunCommand,
    ShowFile,
    SuggestCommand,
    Turn,
    UnknownTap,
    classify,
)  # fmt: skip

APPROVAL = Prompt("ap_1", "approval")
QUESTION = Prompt("q_1", "question", ("SQLite", "Stop", "10"))
CLOSED = Prompt("q_2", "question", ("a", "b"), open=False)

ROWS: list[tuple[str, str, dict[str, Any], Intent]] = [
    (
        "media is a turn even with a command caption",
        "/status",
        {"has_media": True},
        Turn("/status"),
    ),
    (
        "media with 'yes' while an approval waits says so",
        "yes",
        {"has_media": True, "open_prompt": APPROVAL},
        Turn("yes", approval_waits=True),
    ),
    (
        "a tap answers the approval it names",
        "Allow",
        {"payload": "ap_1:allow", "tapped": APPROVAL},
        Decide("ap_1", "allow", tapped=True),
    ),
    (
        "a tap answers the question with its option",
        "SQLite",
        {"payload": "q_1:1", "tapped": QUESTION},
        AnswerQuestion("q_1", "SQLite", tapped=True),
    ),
    (
        "a tap of an answered prompt",
        "a",
        {"payload": "q_2:1", "tapped": CLOSED},
        AlreadyAnswered("q_2"),
    ),
    ("a tap of a prompt the user does not have", "Allow", {"payload": "ap_9:allow"}, UnknownTap()),
    (
        "a tap of a choice the prompt lacks",
        "x",
        {"payload": "q_1:9", "tapped": QUESTION},
        UnknownTap(),
    ),
    ("a payload not of ours is read as text", "hello", {"payload": "other"}, Turn("hello")),
    (
        "a bare command word that is an option answers",
        "Stop!",
        {"open_prompt": QUESTION},
        AnswerQuestion("q_1", "Stop"),
    ),
    (
        "a slashed command while a question is open runs",
        "/stop",
        {"open_prompt": QUESTION},
        RunCommand("stop"),
    ),
    (
        "a bare command word that is no option runs",
        "status",
        {"open_prompt": QUESTION},
        RunCommand("status"),
    ),
    ("a near miss gets a suggestion", "/stauts", {}, SuggestCommand("stauts", "status")),
    ("/new with a name", "/new auth-fix", {}, RunCommand("new", "auth-fix")),
    ("visual slash commands are commands", "/diff src/a.py", {}, RunCommand("diff", "src/a.py")),
    (
        "show <file> falls back to the rest",
        "Show setings.py.",
        {"open_prompt": QUESTION},
        ShowFile("setings.py", AnswerQuestion("q_1", "Show setings.py.")),
    ),
    (
        "a number answers an open question",
        "3",
        {"open_prompt": QUESTION},
        AnswerQuestion("q_1", "10"),
    ),
    ("a number with nothing open goes to Claude", "3", {}, Turn("3")),
    (
        "a typed 1 answers the approval that is the last word",
        "1",
        {"open_prompt": APPROVAL},
        Decide("ap_1", "allow"),
    ),
    (
        "after later messages, a typed yes goes to Claude and says so",
        "yes",
        {"open_prompt": APPROVAL, "superseded": True},
        Turn("yes", approval_waits=True),
    ),
    (
        "a quoted yes counts even after later messages",
        "yes",
        {"open_prompt": APPROVAL, "quoted": True, "quoted_prompt": APPROVAL, "superseded": True},
        Decide("ap_1", "allow"),
    ),
    (
        "a quote of a session with nothing open goes to Claude",
        "2",
        {"open_prompt": QUESTION, "quoted": True},
        Turn("2"),
    ),
    (
        "other words while an approval is open go to Claude",
        "use postgres",
        {"open_prompt": APPROVAL},
        Turn("use postgres"),
    ),
    (
        "approve with a linked repository is /pr",
        "Approve.",
        {"linked_repo": True},
        RunCommand("pr"),
    ),
    ("approve without one goes to Claude", "approve", {}, Turn("approve")),
    ("// is the literal text for Claude", "//status", {}, Turn("/status")),
]


@pytest.mark.parametrize(("text", "facts", "expected"), [r[1:] for r in ROWS],
                         ids=[r[0] for r in ROWS])  # fmt: skip
def test_a_message_means_what_the_first_fitting_rule_says(
    text: str, facts: dict[str, Any], expected: Intent
) -> None:
    """Each precedence rule, with the facts the relay gathered."""
    assert classify(text, **facts) == expected

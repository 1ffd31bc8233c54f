"""Host events as the phone sees them: rules without I/O."""

from __future__ import annotations

from cockpit.core.host_events import EventContext, result_line, translate

CTX = EventContext(last_progress_ts=None, progress_interval=20.0)


def test_the_first_progress_is_shown_and_the_next_within_the_interval_is_not() -> None:
    """Progress is throttled by the host's timestamps: one message per interval."""
    event = {"type": "progress", "text": "✏️ editing app.py", "ts": 100.0}
    first = translate(event, CTX)
    assert [r.body for r in first.replies] == ["✏️ editing app.py"]
    later = EventContext(last_progress_ts=100.0, progress_interval=20.0)
    assert translate(event | {"ts": 110.0}, later).replies == []
    assert translate(event | {"ts": 121.0}, later).progress_ts == 121.0


def test_an_approval_request_offers_numbered_choices_and_opens_a_prompt() -> None:
    """The question names the action and the three numbered answers."""
    event = {"type": "approval_request", "approval_id": "a1", "turn_id": "t", "tool": "Bash",
             "summary": "Run `npm test`?"}  # fmt: skip
    outcome = translate(event, CTX)
    assert outcome.replies[0].body.startswith("🔐 Run `npm test`?")
    assert "*1* allow" in outcome.replies[0].body and "*3* deny" in outcome.replies[0].body
    assert outcome.prompt_open is not None and outcome.prompt_open.id == "a1"


def test_the_result_line_tells_duration_steps_and_cost() -> None:
    """One line: how it ended, seconds, steps and dollars."""
    line = result_line({"duration_ms": 12345, "num_turns": 3, "total_cost_usd": 0.0123})
    assert line == "✅ Done · 12.3 s · 3 steps · $0.0123"
    assert result_line({"interrupted": True, "num_turns": 1}).startswith("⏹ Stopped")


def test_an_error_event_becomes_a_plain_warning_and_fails_the_turn() -> None:
    """The host's sentence reaches the phone; the turn is marked failed with its kind."""
    event = {"type": "error", "turn_id": "t", "kind": "overloaded",
             "message": "Anthropic is overloaded right now (529)."}  # fmt: skip
    outcome = translate(event, CTX)
    assert outcome.replies[0].body == "⚠️ Anthropic is overloaded right now (529)."
    assert outcome.turn is not None and outcome.turn.state == "failed"


def test_an_image_that_could_not_be_fetched_is_said_in_words() -> None:
    """A missing image is never silent."""
    outcome = translate({"type": "image", "caption": "Login page"}, CTX)
    assert "couldn't fetch" in outcome.replies[0].body


def test_unknown_events_produce_nothing() -> None:
    """A newer host's event types do not confuse an older relay."""
    assert translate({"type": "future_thing"}, CTX).replies == []


def test_a_question_with_a_hint_is_one_line_and_still_opens_a_prompt_of_its_options() -> None:
    """ "Agent may be stuck" reads as one sentence; fresh/continue/stop still answer it."""
    event = {"type": "question", "question_id": "q1", "turn_id": "t", "session": "main",
             "question": "Agent may be stuck (3 failed attempts at `npm test`).",
             "options": ["fresh", "continue", "stop"],
             "hint": "Reply *fresh* to start a fresh session with a summary, *continue*, "
                     "or *stop*."}  # fmt: skip
    outcome = translate(event, CTX)
    assert [r.body for r in outcome.replies] == [
        "❓ Agent may be stuck (3 failed attempts at `npm test`). Reply *fresh* to start a "
        "fresh session with a summary, *continue*, or *stop*."
    ]
    assert outcome.prompt_open is not None
    assert outcome.prompt_open.options == ["fresh", "continue", "stop"]


def test_a_question_that_ended_without_an_answer_closes_its_prompt_silently() -> None:
    """After a timeout the next message goes to Claude, not to a dead question."""
    outcome = translate({"type": "question_resolved", "question_id": "q1", "by": "timeout"}, CTX)
    assert outcome.prompt_closed == "q1" and outcome.replies == []

"""Host events turned into what the phone sees: pure rules, no I/O.

The relay applies an `EventOutcome` in the same transaction that moves its cursor
past the event, so replaying a stream after a crash produces nothing twice. The
progress throttle uses the host's event timestamps, not the relay's clock, so a
replay decides exactly as the first reading did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cockpit.core.formatting import format_for_whatsapp

APPROVAL_CHOICES = "Reply *1* allow · *2* allow for this session · *3* deny"


@dataclass(frozen=True)
class TurnUpdate:
    turn_id: str
    state: str
    error_kind: str | None = None
    cost_usd: float | None = None
    num_turns: int | None = None
    duration_ms: int | None = None


@dataclass(frozen=True)
class PromptOpen:
    id: str
    kind: str
    turn_id: str | None
    options: list[str]
    session: str | None = None


@dataclass(frozen=True)
class Reply:
    """One message for the phone: text, or media with an optional caption."""

    body: str = ""
    media_id: str | None = None
    kind: str = "text"


@dataclass
class EventOutcome:
    replies: list[Reply] = field(default_factory=list)
    turn: TurnUpdate | None = None
    prompt_open: PromptOpen | None = None
    prompt_closed: str | None = None
    progress_ts: float | None = None
    answer: str | None = None  # Claude's answer text, kept whole for /full


@dataclass(frozen=True)
class EventContext:
    """What translating one event needs besides the event."""

    last_progress_ts: float | None
    progress_interval: float
    media_id: str | None = None
    tag: str = ""
    media_problem: str | None = None  # why `media_id` is missing, said to the user
    offer_pr: bool = False  # the user has a linked GitHub repository: offer `pr` after changes


NOT_FETCHED = "I couldn't fetch this image from your workspace."
NOT_STORED = (
    "I couldn't save this image on the relay to send it, so it is not attached. "
    "Ask for it again in a moment."
)


def _texts(text: str, tag: str, kind: str = "text") -> list[Reply]:
    return [Reply(body=tag + chunk, kind=kind) for chunk in format_for_whatsapp(text)]


def _ack(event: dict[str, Any], ctx: EventContext) -> EventOutcome:
    turn_id = str(event.get("turn_id"))
    if event.get("queued"):
        text = (
            f"⏳ Queued (position {event.get('position', 1)}): I'll start once the current "
            "task is done. Reply *cancel* to drop it."
        )
        return EventOutcome([Reply(ctx.tag + text, kind="ack")], TurnUpdate(turn_id, "queued"))
    return EventOutcome([Reply(ctx.tag + "👀 on it", kind="ack")], TurnUpdate(turn_id, "running"))


def _progress(event: dict[str, Any], ctx: EventContext) -> EventOutcome:
    ts = float(event.get("ts") or 0.0)
    if ctx.last_progress_ts is not None and ts - ctx.last_progress_ts < ctx.progress_interval:
        return EventOutcome()
    reply = Reply(ctx.tag + str(event.get("text", "working…")), kind="progress")
    return EventOutcome([reply], progress_ts=ts)


def _image(event: dict[str, Any], ctx: EventContext) -> EventOutcome:
    caption = ctx.tag + str(event.get("caption") or "")
    if ctx.media_id is None:
        text = f"{caption}\n({ctx.media_problem or NOT_FETCHED})".strip()
        return EventOutcome([Reply(text)])
    return EventOutcome([Reply(caption[:1000], media_id=ctx.media_id, kind="media")])


def _approval(event: dict[str, Any], ctx: EventContext) -> EventOutcome:
    text = f"🔐 {event.get('summary') or event.get('tool')}\n{APPROVAL_CHOICES}"
    prompt = PromptOpen(
        str(event["approval_id"]),
        "approval",
        event.get("turn_id"),
        ["allow", "allow_session", "deny"],
    )
    return EventOutcome([Reply(ctx.tag + text, kind="approval")], prompt_open=prompt)


def _approval_resolved(event: dict[str, Any], ctx: EventContext) -> EventOutcome:
    outcome = EventOutcome(prompt_closed=str(event.get("approval_id")))
    if event.get("by") == "timeout":
        text = "⌛ No answer in time, so that request was denied and Claude was told."
        outcome.replies.append(Reply(ctx.tag + text, kind="notice"))
    return outcome


def _question(event: dict[str, Any], ctx: EventContext) -> EventOutcome:
    options = [str(o) for o in event.get("options") or []]
    if event.get("hint"):  # the question says how to answer: one line, options not listed
        lines = [f"❓ {event.get('question', '')} {event['hint']}"]
    else:
        lines = [f"❓ {event.get('question', '')}"]
        lines += [f"*{i}* {option}" for i, option in enumerate(options, 1)]
        lines.append("Reply with a number or in your own words." if options else "Reply to answer.")
    prompt = PromptOpen(
        str(event["question_id"]), "question", event.get("turn_id"), options, event.get("session")
    )
    return EventOutcome([Reply(ctx.tag + "\n".join(lines), kind="question")], prompt_open=prompt)


def _question_resolved(event: dict[str, Any], ctx: EventContext) -> EventOutcome:
    """A question ended without the user's answer (timeout, or its turn stopped)."""
    return EventOutcome(prompt_closed=str(event.get("question_id")))


PR_OFFER = "Reply *pr* to open a pull request"


def result_line(event: dict[str, Any]) -> str:
    """One line with how the turn ended, how long it took, its steps and its cost."""
    seconds = (event.get("duration_ms") or 0) / 1000
    steps = event.get("num_turns") or 0
    cost = event.get("total_cost_usd") or 0.0
    head = "⏹ Stopped" if event.get("interrupted") else "✅ Done"
    if event.get("is_error") and not event.get("interrupted"):
        head = "⚠️ Ended with an error"
    return f"{head} · {seconds:.1f} s · {steps} step{'s' * (steps != 1)} · ${cost:.4f}"


def _result(event: dict[str, Any], ctx: EventContext) -> EventOutcome:
    state = (
        "interrupted" if event.get("interrupted") else "failed" if event.get("is_error") else "done"
    )
    turn = TurnUpdate(
        str(event.get("turn_id")), state,
        cost_usd=event.get("total_cost_usd"), num_turns=event.get("num_turns"),
        duration_ms=event.get("duration_ms"),
    )  # fmt: skip
    text = ctx.tag + result_line(event)
    if ctx.offer_pr and event.get("changes") and state == "done":
        text += "\n" + PR_OFFER
    return EventOutcome([Reply(text, kind="result")], turn)


def _error(event: dict[str, Any], ctx: EventContext) -> EventOutcome:
    kind = str(event.get("kind") or "internal")
    state = "interrupted" if kind == "interrupted" else "failed"
    text = f"⚠️ {event.get('message') or 'Something went wrong.'}"
    return EventOutcome(
        [Reply(ctx.tag + text, kind="error")], TurnUpdate(str(event.get("turn_id")), state, kind)
    )


_RULES = {
    "ack": _ack,
    "progress": _progress,
    "text": lambda e, c: EventOutcome(_texts(str(e.get("text", "")), c.tag), answer=e.get("text")),
    "message": lambda e, c: EventOutcome(_texts(str(e.get("text", "")), c.tag)),
    "notice": lambda e, c: EventOutcome([Reply(c.tag + str(e.get("text", "")), kind="notice")]),
    "image": _image,
    "approval_request": _approval,
    "approval_resolved": _approval_resolved,
    "question": _question,
    "question_resolved": _question_resolved,
    "result": _result,
    "error": _error,
}


def translate(event: dict[str, Any], ctx: EventContext) -> EventOutcome:
    """What the phone should see for one host event (unknown types: nothing)."""
    rule = _RULES.get(str(event.get("type")))
    return rule(event, ctx) if rule else EventOutcome()

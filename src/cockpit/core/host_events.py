"""Host events turned into what the phone sees: pure rules, no I/O.

The relay applies an `EventOutcome` in the same transaction that moves its cursor
past the event, so replaying a stream after a crash produces nothing twice. The
progress throttle uses the host's event timestamps, not the relay's clock, so a
replay decides exactly as the first reading did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cockpit.core import interactive
from cockpit.core.formatting import format_for_whatsapp
from cockpit.core.interactive import Interactive

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
    interactive: Interactive | None = None  # buttons or a list; `body` is the text fallback
    hold: bool = False  # may wait briefly for what joins it (store/outbox.py `place`)
    merge: bool = False  # joins the turn's held text when it fits
    supersedes: str | None = None  # drops the turn's held row of this kind


@dataclass
class EventOutcome:
    replies: list[Reply] = field(default_factory=list)
    turn: TurnUpdate | None = None
    prompt_open: PromptOpen | None = None
    prompt_closed: str | None = None
    prompt_resolution: str | None = None  # how it was closed, in words ("allowed")
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
    buttons: bool = False  # approvals and questions go with buttons (Content API)


NOT_FETCHED = "I couldn't fetch this image from your workspace."
NOT_STORED = (
    "I couldn't save this image on the relay to send it, so it is not attached. "
    "Ask for it again in a moment."
)


def _texts(text: str, tag: str, kind: str = "text", *, hold: bool = False) -> list[Reply]:
    """Text in chunks; with `hold`, the last one waits briefly for the turn's ✅ line."""
    chunks = format_for_whatsapp(text)
    return [
        Reply(body=tag + chunk, kind=kind, hold=hold and i == len(chunks) - 1)
        for i, chunk in enumerate(chunks)
    ]


def _answer(event: dict[str, Any], ctx: EventContext) -> EventOutcome:
    """Claude's words: the last chunk may be joined by the change summary and ✅ line."""
    text = str(event.get("text", ""))
    return EventOutcome(_texts(text, ctx.tag, hold=True), answer=event.get("text"))


def _message(event: dict[str, Any], ctx: EventContext) -> EventOutcome:
    """Words from the host; the change summary after a turn joins Claude's answer."""
    if event.get("part") == "changes":
        text = ctx.tag + str(event.get("text", ""))
        return EventOutcome([Reply(text, kind="changes", hold=True, merge=True)])
    return EventOutcome(_texts(str(event.get("text", "")), ctx.tag))


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
    reply = Reply(ctx.tag + str(event.get("text", "working…")), kind="progress", hold=True)
    return EventOutcome([reply], progress_ts=ts)


def _image(event: dict[str, Any], ctx: EventContext) -> EventOutcome:
    caption = ctx.tag + str(event.get("caption") or "")
    if ctx.media_id is None:
        text = f"{caption}\n({ctx.media_problem or NOT_FETCHED})".strip()
        return EventOutcome([Reply(text)])
    return EventOutcome([Reply(caption[:1000], media_id=ctx.media_id, kind="media")])


DECIDED_WORDS = {
    "allow": "allowed", "allow_session": "allowed for this session", "deny": "denied",
}  # fmt: skip


def _approval(event: dict[str, Any], ctx: EventContext) -> EventOutcome:
    summary = str(event.get("summary") or event.get("tool"))
    text = f"🔐 {summary}\n{APPROVAL_CHOICES}"
    approval_id = str(event["approval_id"])
    prompt = PromptOpen(
        approval_id,
        "approval",
        event.get("turn_id"),
        ["allow", "allow_session", "deny"],
    )
    buttons = interactive.approval(approval_id, ctx.tag + summary) if ctx.buttons else None
    # the approval says what the held "🧪 running …" line of the same call would have said
    reply = Reply(ctx.tag + text, kind="approval", interactive=buttons, supersedes="progress")
    return EventOutcome([reply], prompt_open=prompt)


def _approval_resolved(event: dict[str, Any], ctx: EventContext) -> EventOutcome:
    decision = DECIDED_WORDS.get(str(event.get("decision")), "settled")
    by_timeout = event.get("by") == "timeout"
    outcome = EventOutcome(
        prompt_closed=str(event.get("approval_id")),
        prompt_resolution=f"{decision} (no answer in time)" if by_timeout else decision,
    )
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
    question_id = str(event["question_id"])
    prompt = PromptOpen(
        question_id, "question", event.get("turn_id"), options, event.get("session")
    )
    buttons = None
    if ctx.buttons and not event.get("hint"):
        asked = ctx.tag + str(event.get("question", ""))
        buttons = interactive.question(question_id, asked, options)
    reply = Reply(ctx.tag + "\n".join(lines), kind="question", interactive=buttons)
    return EventOutcome([reply], prompt_open=prompt)


def _question_resolved(event: dict[str, Any], ctx: EventContext) -> EventOutcome:
    """A question ended without the user's answer (timeout, or its turn stopped)."""
    why = "no answer in time" if event.get("by") == "timeout" else "the task ended"
    return EventOutcome(prompt_closed=str(event.get("question_id")), prompt_resolution=why)


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
    return EventOutcome([Reply(text, kind="result", merge=True)], turn)


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
    "text": _answer,
    "message": _message,
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

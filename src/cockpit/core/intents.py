"""What a message from the phone means, decided in one place from plain facts.

The relay gathers the facts first (the open approval or question, the prompt a button
names, whether the message quotes a session), calls `classify`, then acts on the intent.
The first rule that fits wins (docs/decisions/0031-one-place-decides-what-a-message-means.md):

1. a message with media is a turn for Claude (a caption is never a command);
2. a tapped button of ours answers the prompt it names, or is a stale tap;
3. a bare command word that is an option of the open question answers it ("stop");
4. a near miss of a command (`/stauts`) earns a suggestion;
5. a command runs (`/status`, `stop`, `/diff`, …);
6. `show <file>` shows that file's diff, if the host has one (else the rules below);
7. with an approval or question open in scope, the text answers it — an approval only
   by its words (yes, 2, deny…) and, unless quoted, only while nothing reached the phone
   after it; a question by any text;
8. `approve` with a GitHub repository linked is `/pr`;
9. anything else is a turn for Claude.
"""

from __future__ import annotations

from dataclasses import dataclass

from cockpit.core import commands, interactive
from cockpit.core.replies import approval_decision, fold, question_answer
from cockpit.core.visual_commands import visual_command

_TAPPED_DECISION = {"allow": "1", "allow_session": "2", "deny": "3"}


@dataclass(frozen=True)
class Prompt:
    """An approval or question as far as meaning goes: its id, kind, options, whether open."""

    id: str
    kind: str  # "approval" or "question"
    options: tuple[str, ...] = ()
    open: bool = True


@dataclass(frozen=True)
class Turn:
    """Text for Claude (with the message's media, if any)."""

    text: str
    approval_waits: bool = False  # an approval word went to Claude while one is open


@dataclass(frozen=True)
class RunCommand:
    """A relay command, answered without Claude."""

    name: str
    args: str = ""


@dataclass(frozen=True)
class SuggestCommand:
    """A near miss of a command: "Did you mean /status?"."""

    typed: str
    name: str


@dataclass(frozen=True)
class Decide:
    """Allow, allow for the session, or deny an open approval."""

    prompt_id: str
    decision: str
    tapped: bool = False


@dataclass(frozen=True)
class AnswerQuestion:
    """The answer to an open question: an option's words, or the user's own."""

    prompt_id: str
    answer: str
    tapped: bool = False


@dataclass(frozen=True)
class UnknownTap:
    """A button of a prompt this user does not have, or a choice it does not offer."""


@dataclass(frozen=True)
class AlreadyAnswered:
    """A button of a prompt that is no longer open."""

    prompt_id: str


@dataclass(frozen=True)
class ShowFile:
    """`show <file>`: the file's diff when the host matches it, else `otherwise`."""

    name: str
    otherwise: Intent


Intent = (
    Turn | RunCommand | SuggestCommand | Decide | AnswerQuestion | UnknownTap | AlreadyAnswered
    | ShowFile
)  # fmt: skip


def classify(
    text: str,
    *,
    has_media: bool = False,
    payload: str | None = None,
    tapped: Prompt | None = None,
    quoted: bool = False,
    open_prompt: Prompt | None = None,
    quoted_prompt: Prompt | None = None,
    superseded: bool = False,
    linked_repo: bool = False,
) -> Intent:
    """What the message means, from its text and the facts the relay gathered:

    `payload` the webhook's ButtonPayload and `tapped` the user's prompt it names (None
    when they have no such prompt); `quoted` whether the message quotes a session's
    message and `quoted_prompt` that session's open prompt; `open_prompt` the user's
    oldest open prompt in any session; `superseded` whether something reached the phone
    after it; `linked_repo` whether the user has a GitHub repository linked.
    """
    turn = Turn(commands.literal(text), _approval_waits(text, open_prompt))
    if has_media:
        return turn
    tap = interactive.parse_payload(payload)
    if tap is not None:
        return _tap(tap, tapped)
    parsed = commands.parse(text)
    bare = isinstance(parsed, commands.Invocation) and not text.strip().startswith("/")
    if bare and open_prompt is not None and _is_option(text, open_prompt):
        return AnswerQuestion(open_prompt.id, question_answer(text, list(open_prompt.options)))
    if isinstance(parsed, commands.Suggestion):
        return SuggestCommand(parsed.typed, parsed.command.name)
    if isinstance(parsed, commands.Invocation):
        return RunCommand(parsed.command.name, parsed.args)
    in_scope = quoted_prompt if quoted else open_prompt
    rest = _answer_or_turn(text, in_scope, quoted or not superseded, linked_repo, turn)
    visual = visual_command(text)
    if visual is not None and visual.kind == "show" and visual.arg:
        return ShowFile(visual.arg, rest)
    return rest


def _approval_waits(text: str, open_prompt: Prompt | None) -> bool:
    """ "yes" going to Claude while an approval is open deserves a word on the phone."""
    waiting = open_prompt is not None and open_prompt.kind == "approval"
    return waiting and approval_decision(commands.literal(text)) is not None


def _tap(tap: interactive.Tap, prompt: Prompt | None) -> Intent:
    """A tap answers exactly the prompt it came with; it never reaches Claude."""
    if prompt is None:
        return UnknownTap()
    if not prompt.open:
        return AlreadyAnswered(prompt.id)
    if prompt.kind == "approval":
        if tap.choice not in _TAPPED_DECISION:
            return UnknownTap()
        return Decide(prompt.id, tap.choice, tapped=True)
    if not (tap.choice.isdigit() and 1 <= int(tap.choice) <= len(prompt.options)):
        return UnknownTap()
    # The option's words, read as a typed answer would be.
    option = prompt.options[int(tap.choice) - 1]
    return AnswerQuestion(prompt.id, question_answer(option, list(prompt.options)), tapped=True)


def _is_option(text: str, prompt: Prompt) -> bool:
    """Whether `text` is the words of one of the open question's options."""
    return prompt.kind == "question" and fold(text) in {fold(o) for o in prompt.options}


def _answer_or_turn(
    text: str, prompt: Prompt | None, typed_counts: bool, linked_repo: bool, turn: Turn
) -> Intent:
    """Rules 7 to 9: the open prompt's answer, `approve` as `/pr`, or the turn."""
    if prompt is not None and (prompt.kind != "approval" or typed_counts):
        if prompt.kind != "approval":
            return AnswerQuestion(prompt.id, question_answer(text, list(prompt.options)))
        decision = approval_decision(text)
        return Decide(prompt.id, decision) if decision is not None else turn
    if fold(text) == "approve" and linked_repo:
        return RunCommand("pr")
    return turn

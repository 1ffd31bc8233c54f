"""Buttons and lists for the phone (Twilio Content API): pure definitions, no I/O.

One Content template serves every approval and every question with the same
number of options: the text, the button titles and the ids travel as
`ContentVariables`. A template is named by its *kind* (`approval`, `buttons2`,
`list7`, …); `definition(kind)` is the exact `POST /v1/Content` body, and its hash
is the key the relay caches the created HX sid under. A tap comes back as the
webhook's `ButtonPayload`, `<prompt id>:<choice>`, so it names the one approval or
question it answers (docs/decisions/0021-content-api-buttons.md).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

MAX_BUTTONS = 3  # WhatsApp, inside the 24-hour window, without template approval
MAX_LIST_ITEMS = 10
BUTTON_TITLE = 20
LIST_ITEM = 24
LIST_DESCRIPTION = 72
MAX_BODY = 1024
APPROVAL = "approval"
APPROVAL_BUTTONS = (("Allow", "allow"), ("Allow for session", "allow_session"), ("Deny", "deny"))
LIST_BUTTON = "Choose"
QUESTION_HINT = "Tap an answer, or reply in your own words."
_PLACEHOLDER_RE = re.compile(r"\{\{(\d+)\}\}")


@dataclass(frozen=True)
class Interactive:
    """What a prompt needs to go out with buttons: the template kind and its variables."""

    kind: str
    variables: dict[str, str]

    def variables_json(self) -> str:
        """`ContentVariables` as Twilio takes it: a JSON object of strings."""
        return json.dumps(self.variables, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Tap:
    """A tapped button or list item: the prompt it belongs to and the choice."""

    prompt_id: str
    choice: str


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def payload(prompt_id: str, choice: str) -> str:
    """The id a button carries: `<prompt id>:<choice>`."""
    return f"{prompt_id}:{choice}"


def parse_payload(raw: str | None) -> Tap | None:
    """The prompt and choice a `ButtonPayload` names, or None when it is not one of ours."""
    prompt_id, sep, choice = (raw or "").strip().rpartition(":")
    if not sep or not prompt_id or not choice or len(raw or "") > 200:
        return None
    if not prompt_id.startswith(("ap_", "q_")):
        return None
    return Tap(prompt_id, choice)


def approval(approval_id: str, summary: str) -> Interactive:
    """Allow / Allow for session / Deny under a body naming what Claude wants to do."""
    variables = {"1": _clip(f"🔐 {summary}", MAX_BODY)}
    for i, (_, choice) in enumerate(APPROVAL_BUTTONS, 2):
        variables[str(i)] = payload(approval_id, choice)
    return Interactive(APPROVAL, variables)


def question(question_id: str, text: str, options: list[str]) -> Interactive | None:
    """Up to 3 options as buttons, 4 to 10 as a list; None for none or more than 10."""
    if not options or len(options) > MAX_LIST_ITEMS:
        return None
    buttons = len(options) <= MAX_BUTTONS
    limit = BUTTON_TITLE if buttons else LIST_ITEM
    clipped = any(len(o) > limit for o in options)
    lines = [f"❓ {text}"]
    if clipped and buttons:  # a clipped title: the body keeps the options whole
        lines += [f"*{i}* {option}" for i, option in enumerate(options, 1)]
    lines.append(f"_{QUESTION_HINT}_")
    variables = {"1": _clip("\n".join(lines), MAX_BODY)}
    step = 2 if buttons else 3
    for i, option in enumerate(options):
        base = 2 + i * step
        variables[str(base)] = _clip(option, limit)
        variables[str(base + 1)] = payload(question_id, str(i + 1))
        if not buttons:
            variables[str(base + 2)] = _clip(option, LIST_DESCRIPTION) if clipped else f"#{i + 1}"
    kind = f"buttons{len(options)}" if buttons else f"list{len(options)}"
    return Interactive(kind, variables)


def definition(kind: str) -> dict[str, Any]:
    """The Content API create request (`POST /v1/Content`) of template `kind`."""
    if kind == APPROVAL:
        actions = [
            {"title": title, "id": _var(i)} for i, (title, _) in enumerate(APPROVAL_BUTTONS, 2)
        ]
        return _template(kind, {"twilio/quick-reply": {"body": "{{1}}", "actions": actions}})
    count = int(kind.removeprefix("buttons").removeprefix("list"))
    if kind.startswith("buttons") and 1 <= count <= MAX_BUTTONS:
        actions = [{"title": _var(2 + 2 * i), "id": _var(3 + 2 * i)}
                   for i in range(count)]  # fmt: skip
        return _template(kind, {"twilio/quick-reply": {"body": "{{1}}", "actions": actions}})
    if kind.startswith("list") and MAX_BUTTONS < count <= MAX_LIST_ITEMS:
        items = [{"item": _var(2 + 3 * i), "id": _var(3 + 3 * i),
                  "description": _var(4 + 3 * i)} for i in range(count)]  # fmt: skip
        picker = {"body": "{{1}}", "button": LIST_BUTTON, "items": items}
        return _template(kind, {"twilio/list-picker": picker})
    raise ValueError(f"unknown interactive kind {kind!r}")


def _var(n: int) -> str:
    return "{{" + str(n) + "}}"


def _template(kind: str, types: dict[str, Any]) -> dict[str, Any]:
    """A whole definition: `twilio/text` carries the body to channels without buttons."""
    placeholders = sorted({int(p) for p in _PLACEHOLDER_RE.findall(json.dumps(types))} | {1})
    samples = {str(n): ("Claude asks" if n == 1 else f"sample{n}") for n in placeholders}
    return {
        "friendly_name": f"cockpit_{kind}_v1",
        "language": "en",
        "variables": samples,
        "types": {**types, "twilio/text": {"body": "{{1}}"}},
    }


def definition_hash(body: dict[str, Any]) -> str:
    """A stable key of a definition (sorted JSON, SHA-256)."""
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()

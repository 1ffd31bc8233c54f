"""Is the agent stuck? Rules over one turn's tool calls, in the order they ran.

Fed each finished tool call (name, input, failed or not, an excerpt of its output,
and for file edits the file's content before and after) with the turn's elapsed
time and cost so far, `Detector.observe` returns a `Verdict` when:

- the same command failed `failures` times (Bash commands compared after
  `normalize_command`; other tools by name and target, e.g. `Edit app.py`);
- a file went back to a content it had before, `flips` times ("back and forth");
- `idle_steps` tool calls ran without a new change (an edit giving a file a
  content it has not had in this turn);
- the turn spent more than `budget_usd` or ran longer than `budget_minutes`.

`reset` starts a new window (after the user said *continue*): counts and budgets
start again from there; the history kept for `summary` stays. No I/O here.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

EDIT_TOOLS = frozenset({"Write", "Edit", "MultiEdit", "NotebookEdit"})
VIEW_FILTERS = frozenset({"head", "tail", "grep", "tee", "cat", "less", "more"})
HISTORY = 25  # tool calls kept for the summary of a fresh session

Kind = Literal["failures", "flips", "idle", "budget_usd", "budget_minutes"]


@dataclass(frozen=True)
class Limits:
    """When a turn counts as stuck; 0 (or None for budgets) switches a rule off."""

    failures: int = 3
    flips: int = 2
    idle_steps: int = 40
    budget_usd: float | None = 5.0
    budget_minutes: float | None = 45.0


@dataclass(frozen=True)
class Step:
    """One finished tool call; `before`/`after` are an edited file's contents, if known."""

    tool: str
    input: Mapping[str, Any]
    is_error: bool = False
    output: str = ""
    file: str | None = None
    before: str | None = None
    after: str | None = None


@dataclass(frozen=True)
class Verdict:
    """Why the turn looks stuck, said in a few words (e.g. "3 failed attempts at `npm test`")."""

    kind: Kind
    reason: str


def normalize_command(command: str) -> str:
    """A shell command without what does not change it: spacing, a leading `cd X &&`,
    `2>&1`, and trailing pipes into viewers (`| tail -20`, `| grep FAIL`)."""
    flat = " ".join(command.split())
    flat = re.sub(r"^(cd\s+\S+\s*(&&|;)\s*)+", "", flat)
    flat = re.sub(r"\s*2>&1", "", flat)
    parts = [p.strip() for p in flat.split("|")]
    while len(parts) > 1 and _first_word(parts[-1]) in VIEW_FILTERS:
        parts.pop()
    return " | ".join(parts).strip()


def _first_word(segment: str) -> str:
    try:
        words = shlex.split(segment)
    except ValueError:
        words = segment.split()
    return words[0] if words else ""


def target(step: Step) -> str:
    """What a tool call acts on, as the user would name it: `npm test`, `Edit app.py`."""
    if step.tool == "Bash":
        return normalize_command(str(step.input.get("command", "")))
    raw = step.file or next(
        (str(step.input[k]) for k in ("file_path", "notebook_path", "path", "url", "pattern")
         if step.input.get(k)),
        "",
    )  # fmt: skip
    return f"{step.tool} {_short_path(raw)}".strip()


def _short_path(raw: str) -> str:
    return raw.rstrip("/").rsplit("/", 1)[-1] if "/" in raw else raw


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _shown(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class _Window:
    """The counts of one window (from the turn's start, or from the last *continue*)."""

    start_s: float = 0.0
    start_usd: float = 0.0
    failures: Counter[str] = field(default_factory=Counter)
    flips: Counter[str] = field(default_factory=Counter)
    idle: int = 0


@dataclass
class _Tried:
    """One line of the history: what ran, whether it failed, the end of its output."""

    what: str
    failed: bool
    output: str


class Detector:
    """Watches one turn; one instance per Claude session run."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self._window = _Window()
        self._states: dict[str, list[str]] = {}  # file -> content digests, in order seen
        self._edits: dict[str, list[tuple[str, str]]] = {}  # file -> (old, new) of Edit calls
        self._history: list[_Tried] = []
        self._steps = 0
        self._last_failure: _Tried | None = None

    def observe(self, step: Step, *, elapsed_s: float, cost_usd: float) -> Verdict | None:
        """Take one finished tool call; a verdict when the turn now looks stuck."""
        self._remember(step)
        window = self._window
        key = target(step)
        if step.is_error:
            window.failures[key] += 1
        else:
            window.failures.pop(key, None)
        changed = self._change(step)
        window.idle = 0 if changed else window.idle + 1
        return self._judge(key, step) or self.check(elapsed_s=elapsed_s, cost_usd=cost_usd)

    def check(self, *, elapsed_s: float, cost_usd: float) -> Verdict | None:
        """The budget rules alone (between tool calls too)."""
        limits, window = self.limits, self._window
        spent = cost_usd - window.start_usd
        if limits.budget_usd and spent > limits.budget_usd:
            return Verdict(
                "budget_usd", f"${spent:.2f} spent on this task, over its ${limits.budget_usd:g}"
            )
        minutes = (elapsed_s - window.start_s) / 60
        if limits.budget_minutes and minutes > limits.budget_minutes:
            return Verdict(
                "budget_minutes",
                f"{minutes:.0f} minutes on this task, over its {limits.budget_minutes:g}",
            )
        return None

    def reset(self, *, elapsed_s: float, cost_usd: float) -> None:
        """Start a new window: counts from zero, budgets from now."""
        self._window = _Window(start_s=elapsed_s, start_usd=cost_usd)

    def _judge(self, key: str, step: Step) -> Verdict | None:
        limits, window = self.limits, self._window
        if step.is_error and limits.failures and window.failures[key] >= limits.failures:
            n = window.failures[key]
            return Verdict("failures", f"{n} failed attempts at `{_shown(key)}`")
        flipped = window.flips.most_common(1)
        if limits.flips and flipped and flipped[0][1] >= limits.flips:
            name, n = flipped[0]
            return Verdict("flips", f"`{_shown(name)}` edited back and forth {n} times")
        if limits.idle_steps and window.idle >= limits.idle_steps:
            return Verdict("idle", f"{window.idle} steps without a new change")
        return None

    def _change(self, step: Step) -> bool:
        """True if `step` gave a file a content new in this turn; counts going back."""
        if step.tool not in EDIT_TOOLS or step.is_error:
            return False
        name = _short_path(step.file or str(step.input.get("file_path", "")))
        if step.after is not None:
            return self._by_content(step, name)
        return self._by_inverse(step, name)

    def _by_content(self, step: Step, name: str) -> bool:
        states = self._states.setdefault(name, [])
        if step.before is not None and not states:
            states.append(_digest(step.before))
        after = _digest(step.after or "")
        if states and states[-1] == after:
            return False  # no change at all
        seen = after in states
        states.append(after)
        if seen:
            self._window.flips[name] += 1
        return not seen

    def _by_inverse(self, step: Step, name: str) -> bool:
        """Without contents: an Edit that swaps back an earlier Edit's strings goes back."""
        if step.tool != "Edit":
            return True
        pair = (str(step.input.get("old_string", "")), str(step.input.get("new_string", "")))
        earlier = self._edits.setdefault(name, [])
        undoes = (pair[1], pair[0]) in earlier
        earlier.append(pair)
        if undoes:
            self._window.flips[name] += 1
        return not undoes

    def _remember(self, step: Step) -> None:
        self._steps += 1
        tried = _Tried(target(step), step.is_error, step.output.strip()[-600:])
        self._history = [*self._history, tried][-HISTORY:]
        if step.is_error:
            self._last_failure = tried

    def summary(self, asked: str, verdict: Verdict | None) -> str:
        """The first prompt of a fresh session: the task, what was tried, the last error."""
        lines = [
            "You are taking over a task in a fresh session: the previous session seemed stuck"
            + (f" ({verdict.reason})" if verdict else "")
            + ", and the user asked to start over with a summary.",
            "",
            "What the user asked:",
            asked.strip(),
            "",
            f"What was tried ({self._steps} tool calls; the last {len(self._history)}):",
            *self._tried_lines(),
        ]
        failure = self._last_failure
        if failure is not None:
            lines += ["", f"The failing command: `{failure.what}`", "Its last error:", "```"]
            lines += [failure.output or "(no output)", "```"]
        lines += [
            "",
            "The files keep every change made so far. Look at the problem afresh; do not "
            "repeat an attempt that failed without a new idea.",
        ]
        return "\n".join(lines)

    def _tried_lines(self) -> list[str]:
        """The history, the same call in a row folded into one line with a count."""
        runs: list[tuple[str, int]] = []
        for tried in self._history:
            line = f"- {tried.what}" + (" (failed)" if tried.failed else "")
            if runs and runs[-1][0] == line:
                runs[-1] = (line, runs[-1][1] + 1)
            else:
                runs.append((line, 1))
        return [f"{line} ×{n}" if n > 1 else line for line, n in runs]


# --- asking the user ------------------------------------------------------------------

Choice = Literal["fresh", "continue", "stop"]
OPTIONS: tuple[Choice, ...] = ("fresh", "continue", "stop")
HINT = "Reply *fresh* to start a fresh session with a summary, *continue*, or *stop*."
_WORDS: dict[str, Choice] = {
    "fresh": "fresh", "start fresh": "fresh", "start over": "fresh", "restart": "fresh",
    "new session": "fresh", "continue": "continue", "go on": "continue",
    "keep going": "continue", "carry on": "continue", "stop": "stop", "abort": "stop",
    "halt": "stop",
}  # fmt: skip


def question(verdict: Verdict) -> str:
    """The question for the phone, without the reply hint."""
    return f"Agent may be stuck ({verdict.reason})."


def choice(answer: str) -> Choice | None:
    """fresh / continue / stop for a reply that is one of those words (or a synonym)."""
    folded = " ".join(answer.strip().lower().split()).strip(" .!?,;:\"'*_~/")
    return _WORDS.get(folded)

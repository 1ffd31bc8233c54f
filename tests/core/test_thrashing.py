"""Stuck-turn rules over a turn's tool calls: pure functions, no I/O."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.core import pricing
from cockpit.core.thrashing import Detector, Limits, Step, choice, normalize_command, question

LOOSE = Limits(failures=3, flips=2, idle_steps=0, budget_usd=None, budget_minutes=None)


def bash(command: str, failed: bool = True, output: str = "Exit code 1") -> Step:
    return Step("Bash", {"command": command}, failed, output)


def write(path: str, content: str, before: str | None = None) -> Step:
    return Step("Write", {"file_path": path, "content": content}, file=path, before=before,
                after=content)  # fmt: skip


def feed(detector: Detector, *steps: Step, elapsed: float = 0.0, cost: float = 0.0) -> list[str]:
    verdicts = [detector.observe(s, elapsed_s=elapsed, cost_usd=cost) for s in steps]
    return [v.reason for v in verdicts if v is not None]


def test_the_same_command_failing_three_times_is_stuck_whatever_its_decoration() -> None:
    """`npm test`, `cd app && npm test 2>&1 | tail -20` and the like count as one command."""
    detector = Detector(LOOSE)
    steps = [bash("npm test"), bash("cd app && npm  test 2>&1 | tail -20"), bash("npm test")]
    assert feed(detector, *steps) == ["3 failed attempts at `npm test`"]


def test_a_success_in_between_or_other_commands_do_not_add_up() -> None:
    """Failures count per command, and a run that passes starts its count again."""
    detector = Detector(LOOSE)
    steps = [bash("npm test"), bash("npm test"), bash("npm test", failed=False),
             bash("npm test"), bash("npm run lint"), bash("npm test")]  # fmt: skip
    assert feed(detector, *steps) == []


def test_failing_non_shell_tools_are_named_by_tool_and_file() -> None:
    """Three failed edits of one file read as attempts at `Edit app.py`."""
    detector = Detector(LOOSE)
    edit = Step("Edit", {"file_path": "/w/src/app.py", "old_string": "x", "new_string": "y"}, True)
    assert feed(detector, edit, edit, edit) == ["3 failed attempts at `Edit app.py`"]


def test_a_file_written_back_and_forth_is_stuck_but_one_undo_is_not() -> None:
    """A→B→A is one way back; A→B→A→B is the second, and that is thrashing."""
    detector = Detector(LOOSE)
    assert feed(detector, write("/w/a.py", "B", before="A"), write("/w/a.py", "A")) == []
    assert feed(detector, write("/w/a.py", "B")) == ["`a.py` edited back and forth 2 times"]


def test_edits_that_swap_each_other_back_are_caught_without_file_contents() -> None:
    """Without contents, an Edit reversing an earlier Edit's strings counts as going back."""
    detector = Detector(LOOSE)
    ab = Step("Edit", {"file_path": "/w/a.py", "old_string": "a", "new_string": "b"})
    ba = Step("Edit", {"file_path": "/w/a.py", "old_string": "b", "new_string": "a"})
    assert feed(detector, ab, ba, ab) == ["`a.py` edited back and forth 2 times"]


def test_many_steps_without_a_new_change_are_stuck_and_a_new_edit_resets_the_count() -> None:
    """Reading on and on without changing anything trips the idle rule at its limit."""
    detector = Detector(Limits(idle_steps=4, budget_usd=None, budget_minutes=None))
    read = Step("Read", {"file_path": "/w/a.py"})
    assert feed(detector, read, read, read, write("/w/a.py", "new", before="old"), read) == []
    assert feed(detector, read, read, read) == ["4 steps without a new change"]


def test_budgets_of_cost_and_minutes_count_from_the_last_continue() -> None:
    """Over $1 or 10 minutes is stuck; after `reset` both budgets start again."""
    detector = Detector(Limits(budget_usd=1.0, budget_minutes=10.0))
    read = Step("Read", {"file_path": "/w/a.py"})
    assert feed(detector, read, cost=1.5) == ["$1.50 spent on this task, over its $1"]
    detector.reset(elapsed_s=0.0, cost_usd=1.5)
    assert feed(detector, read, cost=2.0) == []
    assert feed(detector, read, cost=2.0, elapsed=660) == ["11 minutes on this task, over its 10"]


def test_continue_resets_the_failure_count() -> None:
    """After the user says continue, three more failures are needed before asking again."""
    detector = Detector(LOOSE)
    assert len(feed(detector, bash("make"), bash("make"), bash("make"))) == 1
    detector.reset(elapsed_s=0.0, cost_usd=0.0)
    assert feed(detector, bash("make"), bash("make")) == []


def test_zero_limits_switch_the_rules_off() -> None:
    """A host configured with 0 never asks."""
    detector = Detector(Limits(failures=0, flips=0, idle_steps=0, budget_usd=None,
                               budget_minutes=None))  # fmt: skip
    assert feed(detector, *[bash("make")] * 10, cost=100.0, elapsed=1e6) == []


def test_the_summary_tells_the_task_what_was_tried_and_the_last_error() -> None:
    """A fresh session learns the request, the calls (repeats folded) and the failing output."""
    detector = Detector(LOOSE)
    feed(detector, Step("Read", {"file_path": "/w/package.json"}))
    verdicts = feed(detector, *[bash("npm test", output="FAIL src/app.test.js")] * 3)
    summary = detector.summary("make the tests pass", None)
    assert "What the user asked:\nmake the tests pass" in summary
    assert "- Read package.json\n- npm test (failed) ×3" in summary
    assert "The failing command: `npm test`\nIts last error:\n```\nFAIL src/app.test.js\n```" in (
        summary
    )
    assert verdicts == ["3 failed attempts at `npm test`"]


def test_the_question_and_the_words_that_answer_it() -> None:
    """The question names the reason; replies fold case and punctuation."""
    detector = Detector(LOOSE)
    verdict = detector.observe(bash("npm test"), elapsed_s=0, cost_usd=0)
    assert verdict is None
    feed(detector, bash("npm test"))
    last = detector.observe(bash("npm test"), elapsed_s=0, cost_usd=0)
    assert last is not None
    assert question(last) == "Agent may be stuck (3 failed attempts at `npm test`)."
    assert [choice(w) for w in ("Fresh.", "continue!", "STOP", "go on", "maybe")] == [
        "fresh", "continue", "stop", "continue", None,
    ]  # fmt: skip


def test_token_usage_is_priced_by_model_family() -> None:
    """A million Sonnet input tokens cost $3; cache reads a tenth of that."""
    assert pricing.estimate_usd("claude-sonnet-4-5", {"input_tokens": 1_000_000}) == 3.0
    usage = {"cache_read_input_tokens": 1_000_000, "output_tokens": 1_000_000}
    assert pricing.estimate_usd("claude-haiku-4-5", usage) == 0.1 + 5.0
    assert pricing.prices("claude-opus-4-1-20250805") == (15.0, 75.0)


COMMANDS = st.sampled_from(["npm test", "make", "pytest -x"])


@settings(max_examples=60)
@given(st.lists(st.tuples(COMMANDS, st.booleans()), max_size=30))
def test_failures_are_reported_exactly_when_a_command_fails_three_times_since_it_last_passed(
    runs: list[tuple[str, bool]],
) -> None:
    """Against a plain model: the verdict comes on each failure that makes 3+ since a pass."""
    detector = Detector(LOOSE)
    streak: Counter[str] = Counter()
    for command, failed in runs:
        streak[command] = streak[command] + 1 if failed else 0
        verdict = detector.observe(bash(command, failed), elapsed_s=0, cost_usd=0)
        assert (verdict is not None) == (failed and streak[command] >= 3)


@given(st.text(alphabet="abc -=&|;2>1", max_size=40))
def test_normalizing_a_command_twice_changes_nothing_more(command: str) -> None:
    """`normalize_command` is idempotent, so counted keys are stable."""
    once = normalize_command(command)
    assert normalize_command(once) == once


STEPS = st.builds(
    Step,
    tool=st.sampled_from(["Bash", "Edit", "Write", "Read", "mcp__phone__ask_user"]),
    input=st.fixed_dictionaries(
        {
            "command": st.text(max_size=20),
            "file_path": st.sampled_from(["/w/a.py", "b.py", ""]),
            "old_string": st.text(max_size=3),
            "new_string": st.text(max_size=3),
        }
    ),
    is_error=st.booleans(),
    output=st.text(max_size=30),
    file=st.none() | st.sampled_from(["/w/a.py", "/w/b.py"]),
    before=st.none() | st.text(max_size=3),
    after=st.none() | st.text(max_size=3),
)


@settings(max_examples=50)
@given(st.lists(STEPS, max_size=30))
def test_any_sequence_of_calls_gives_short_reasons_and_a_summary(steps: list[Step]) -> None:
    """Whatever Claude does, the detector answers with a short reason or nothing, never fails."""
    detector = Detector(Limits(idle_steps=5))
    for n, step in enumerate(steps):
        verdict = detector.observe(step, elapsed_s=n * 10.0, cost_usd=n * 0.01)
        assert verdict is None or 0 < len(question(verdict)) < 120
    assert detector.summary("do it", None).count("\n- ") <= 25

"""Turn latency through the real stack (issues 3, 15) and the relay + host overhead (issue 6).

`python -m bench turns [--runs 5] [--turns 6] [--warmup 1] [--memory-turns 200]`: one
stack (phone simulator and relay in this process, Ada's local host as a subprocess,
the real Claude Code CLI, the timed Anthropic stand-in; see `bench.claude_stack`) is
started once. Each run opens a new session (`/new bench-N`), so its first message
starts a Claude Code process (the *first turn*), and the run's other messages go to
that kept process (*warm turns*). Every turn sends a message from the simulated phone,
the stand-in answers with one line of text, and the benchmark waits for "✅ Done".
Host memory with 0, 1 and 5 live clients and over `--memory-turns` turns on one
client: `bench.turns_memory`.
Per turn it takes, all on this machine's wall clock:

- webhook: when the simulator recorded the phone's message, just before it posted
  the signed webhook to the relay;
- the host's `ack` event and its `result` event (`ts`, from the host's GET /events),
  and the CLI's own `duration_ms` carried by that `result`;
- when the first request (and the first one offering tools) reached the stand-in,
  and when the stand-in finished sending its last answer;
- when the simulator's Messages API received "✅ Done" from the relay.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.claude_stack import (
    BareRun,
    ClaudeStack,
    Event,
    bare_cli,
    claude_stack,
    is_done,
    stamp,
)
from bench.results import RESULTS, load_average, machine, write_section
from bench.turns_memory import Memory, long_client, new_session, read, report_lines
from tests.fakes.anthropic import say

NAME = "turns"


@dataclass(frozen=True)
class Options:
    """How many turns to time."""

    runs: int = 5
    turns: int = 6
    warmup: int = 1
    bare: int = 2
    memory_turns: int = 200
    output: Path | None = RESULTS
    # seconds between /new's answer and the session's first message (a person typing it);
    # 0: at once, so the first turn waits for the whole start of Claude Code
    pause: float = 0.0


@dataclass(frozen=True)
class Turn:
    """The clock readings (epoch seconds) of one turn, and the CLI's own duration."""

    webhook: float
    ack: float
    first_request: float
    first_main_request: float
    last_answer_sent: float
    result: float
    done: float
    cli_ms: float

    def figures(self) -> dict[str, float]:
        """This turn's intervals in milliseconds, keyed as `FIGURES`."""
        total = (self.done - self.webhook) * 1000
        return {
            "to_ack": (self.ack - self.webhook) * 1000,
            "ack_to_first": (self.first_request - self.ack) * 1000,
            "to_first": (self.first_request - self.webhook) * 1000,
            "to_first_main": (self.first_main_request - self.webhook) * 1000,
            "result_to_done": (self.done - self.result) * 1000,
            "answer_to_done": (self.done - self.last_answer_sent) * 1000,
            "total": total,
            "cli": self.cli_ms,
            "overhead": total - self.cli_ms,
        }


def bare_figures(bare: BareRun) -> dict[str, float]:
    """The bare CLI's intervals in milliseconds, keyed as `BARE_FIGURES`."""
    wall = (bare.exited - bare.spawned) * 1000
    return {
        "to_first": (bare.first_request - bare.spawned) * 1000,
        "result_to_exit": (bare.exited - bare.result_line) * 1000,
        "total": wall,
        "cli": bare.cli_ms,
        "overhead": wall - bare.cli_ms,
    }


# key, label, aim in ms (None: reported, not judged)
FIGURES: list[tuple[str, str, float | None]] = [
    ("to_ack", "webhook → host `ack` event (relay stored it, dispatched it to the host)", None),
    (
        "ack_to_first",
        "host `ack` → first request at the stand-in (the host starting the CLI)",
        None,
    ),
    ("to_first", "**warm turn: webhook → first request at the Anthropic stand-in**", 1500.0),
    ("to_first_main", "webhook → first request offering tools (the agent's own call)", None),
    ("result_to_done", "**host `result` event → ✅ Done at the simulator**", 300.0),
    ("answer_to_done", "stand-in's last answer sent → ✅ Done at the simulator", None),
    ("total", "webhook → ✅ Done at the simulator", None),
    ("cli", "the CLI's own `duration_ms` (from its `result`)", None),
    ("overhead", "**(webhook → ✅ Done) − CLI `duration_ms`**", None),
]
BARE_FIGURES: list[tuple[str, str]] = [
    ("to_first", "bare CLI: spawn → first request at the stand-in"),
    ("result_to_exit", "bare CLI: `result` line printed → process exited"),
    ("total", "bare CLI: spawn → exit"),
    ("cli", "bare CLI: its own `duration_ms`"),
    ("overhead", "bare CLI: (spawn → exit) − `duration_ms`"),
]
# figures of the stack divided by the bare CLI's, within each run
# the first turn of each run's new session (a Claude Code process is started for it)
FIRST_FIGURES: list[tuple[str, str]] = [
    ("to_ack", "first turn of a session: webhook → host `ack`"),
    ("ack_to_first", "first turn of a session: host `ack` → first request (CLI starting)"),
    ("to_first", "**first turn of a session: webhook → first request**"),
    ("total", "first turn of a session: webhook → ✅ Done"),
]
# (figure of the warm turns or of the first turns, bare figure, label, aim of the ratio)
RATIOS: list[tuple[str, str, str, float | None]] = [
    (
        "to_first",
        "to_first",
        "**warm turn webhook → first request ÷ bare spawn → first request**",
        0.25,
    ),
    (
        "first:to_first",
        "to_first",
        "**first turn webhook → first request ÷ bare spawn → first request**",
        1.2,
    ),
    (
        "overhead",
        "overhead",
        "warm turn overhead ÷ bare CLI's own overhead (both minus `duration_ms`)",
        None,
    ),
]


@dataclass
class Run:
    """One run: the turns through the stack, then the bare CLI on the same stand-in."""

    turns: list[Turn] = field(default_factory=list)
    bare: list[BareRun] = field(default_factory=list)
    first: list[Turn] = field(default_factory=list)

    def median(self, key: str) -> float:
        """The median of figure `key` over this run's warm turns ("first:KEY": first turns)."""
        turns = self.first if key.startswith("first:") else self.turns
        return statistics.median(t.figures()[key.removeprefix("first:")] for t in turns)

    def bare_median(self, key: str) -> float:
        """The median of the bare CLI's figure `key` over this run."""
        return statistics.median(bare_figures(b)[key] for b in self.bare)


@dataclass
class Result:
    """Every timed turn, by run, and how the run went."""

    opts: Options
    runs: list[Run] = field(default_factory=list)
    aborted: str | None = None
    load: tuple[str, str] = ("", "")
    memory: Memory = field(default_factory=Memory)


def measure_turn(cs: ClaudeStack, index: int, after: int) -> tuple[Turn, int]:
    """Send one message and time its way; also the host's newest event sequence number."""
    first_exchange, first_received = len(cs.fake.exchanges), len(cs.stack.received())
    cs.fake.script([say(f"Answer number {index}.")])
    sent = cs.send(f"question number {index}")
    done = cs.wait_message(first_received, is_done)
    events = cs.host_events(after, lambda e: e["type"] in ("result", "error"))
    result = _result_of(events)
    exchanges = cs.fake.exchanges[first_exchange:]
    main = [x for x in exchanges if not x.side]
    turn = Turn(
        webhook=stamp(sent),
        ack=next(float(e["ts"]) for e in events if e["type"] == "ack"),
        first_request=exchanges[0].arrived,
        first_main_request=main[0].arrived,
        last_answer_sent=max(x.finished or x.arrived for x in main),
        result=float(result["ts"]),
        done=stamp(done),
        cli_ms=float(result["duration_ms"]),
    )
    return turn, int(result["seq"])


def _result_of(events: list[Event]) -> Event:
    last = events[-1]
    if last["type"] != "result" or last.get("is_error"):
        raise RuntimeError(f"the turn failed on the host: {last}")
    return last


def run(opts: Options) -> Result:
    """Start the stack once, time the warm-up and measured turns, stop it."""
    result = Result(opts, load=(load_average(), ""))
    with tempfile.TemporaryDirectory(prefix="bench-turns-") as tmp:
        try:
            with claude_stack(Path(tmp), client_max_turns=0) as cs:
                _time_turns(cs, Path(tmp), opts, result)
        except Exception as exc:  # keep the turns timed so far, and say why it stopped
            result.aborted = f"{type(exc).__name__}: {exc}"[:500]
    result.load = (result.load[0], load_average())
    return result


def _time_turns(cs: ClaudeStack, workdir: Path, opts: Options, result: Result) -> None:
    after, memory = 0, result.memory
    memory.situations["host started, no turn yet: 0 live clients"] = read(cs)
    for index in range(opts.warmup):
        _, after = measure_turn(cs, index, after)
    if opts.warmup:
        memory.situations["after the warm-up turn on main: 1 live client"] = read(cs)
    for number in range(opts.runs):
        run_ = Run()
        result.runs.append(run_)
        new_session(cs, f"bench-{number}")
        time.sleep(opts.pause)
        for index in range(opts.turns + 1):
            turn, after = measure_turn(cs, opts.warmup + number * (opts.turns + 1) + index, after)
            (run_.turns if index else run_.first).append(turn)
        for index in range(opts.bare):
            cs.fake.script([say(f"Bare answer {index}.")])
            run_.bare.append(bare_cli(cs, workdir, f"bare question {number}.{index}"))
        print(f"turns: run {number + 1}/{opts.runs} done", file=sys.stderr)
    live = read(cs)
    memory.situations[f"after {opts.runs} more sessions: {live.claude_count} live"] = live
    if opts.memory_turns:
        long_client(cs, opts.memory_turns, memory)


# --- report ----------------------------------------------------------------------------


def _ms(values: list[float]) -> str:
    return ", ".join(f"{v:.0f}" for v in values)


def _row(runs: list[Run], key: str, label: str, aim: float | None) -> str:
    medians = [r.median(key) for r in runs]
    every = [t.figures()[key] for r in runs for t in r.turns]
    met = "" if aim is None else ("met" if statistics.median(medians) < aim else "**not met**")
    aim_text = "" if aim is None else f"< {aim:.0f} ms: {met}"
    return (
        f"| {label} | {statistics.median(medians):.0f} | {_ms(medians)} | "
        f"{min(every):.0f} – {max(every):.0f} | {aim_text} |"
    )


def _bare_row(runs: list[Run], key: str, label: str) -> str:
    medians = [r.bare_median(key) for r in runs]
    every = [bare_figures(b)[key] for r in runs for b in r.bare]
    return (
        f"| {label} | {statistics.median(medians):.0f} | {_ms(medians)} | "
        f"{min(every):.0f} – {max(every):.0f} | |"
    )


def _first_row(runs: list[Run], key: str, label: str) -> str:
    medians = [r.median(f"first:{key}") for r in runs]
    every = [t.figures()[key] for r in runs for t in r.first]
    return (
        f"| {label} | {statistics.median(medians):.0f} | {_ms(medians)} | "
        f"{min(every):.0f} – {max(every):.0f} | |"
    )


def _ratio_row(runs: list[Run], key: str, bare_key: str, label: str, aim: float | None) -> str:
    ratios = [r.median(key) / r.bare_median(bare_key) for r in runs]
    per_run = ", ".join(f"{v:.2f}" for v in ratios)
    median = statistics.median(ratios)
    judged = "" if aim is None else f"≤ {aim:g}: {'met' if median <= aim else '**not met**'}"
    return f"| {label} | {median:.2f} | {per_run} | | {judged} |"


def _table(result: Result) -> list[str]:
    runs = [r for r in result.runs if r.turns]
    lines = [
        "| figure (ms) | median of run medians | per-run medians | min – max | aim |",
        "| --- | ---: | --- | ---: | --- |",
        *(_row(runs, key, label, aim) for key, label, aim in FIGURES),
    ]
    if all(r.first for r in runs):
        lines += [_first_row(runs, key, label) for key, label in FIRST_FIGURES]
    runs = [r for r in runs if r.bare and r.first]
    if runs:
        lines += [_bare_row(runs, key, label) for key, label in BARE_FIGURES]
        lines += [_ratio_row(runs, *ratio) for ratio in RATIOS]
    return lines


def report(result: Result) -> str:
    """The markdown section of RESULTS.md for this benchmark."""
    opts, count = result.opts, sum(len(r.turns) for r in result.runs)
    lines = [
        "## Turns: phone → relay → host → Claude Code CLI → stand-in, and back",
        "",
        machine(),
        f"- {len(result.runs)} run(s), each in a new session: its first turn, then "
        f"{opts.turns} warm turns ({count} timed warm turns), after {opts.warmup} warm-up "
        f"turn(s), then {opts.bare} bare CLI call(s) per run; the first message "
        f"{opts.pause:g} s after /new's answer; one stack and one host for all "
        "of them; each turn is one message answered by the stand-in with one line of text "
        "(no tool call)",
        f"- load average (1, 5, 15 min) before: {result.load[0]}, after: {result.load[1]}",
        "",
    ]
    if count:
        lines += _table(result)
    if result.memory.situations:
        lines += report_lines(result.memory, opts.memory_turns)
    if result.aborted:
        lines += ["", f"**Aborted:** {result.aborted}"]
    return "\n".join(lines)


def parse_options(argv: list[str]) -> Options:
    """The command line of `python -m bench turns`."""
    parser = argparse.ArgumentParser(prog="python -m bench turns", description=__doc__)
    parser.add_argument("--runs", type=int, default=Options.runs)
    parser.add_argument("--turns", type=int, default=Options.turns, help="turns per run")
    parser.add_argument("--warmup", type=int, default=Options.warmup, help="untimed turns")
    parser.add_argument("--bare", type=int, default=Options.bare, help="bare CLI calls per run")
    parser.add_argument(
        "--memory-turns", type=int, default=Options.memory_turns, help="turns on one client"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="the RESULTS.md to update")
    parser.add_argument(
        "--pause", type=float, default=Options.pause,
        help="seconds between /new's answer and the first message (someone typing it)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    return Options(
        args.runs, args.turns, args.warmup, args.bare, args.memory_turns, args.output, args.pause
    )


def main(argv: list[str]) -> int:
    """Entry point of `python -m bench turns`; 1 when a turn failed or timed out."""
    opts = parse_options(argv)
    result = run(opts)
    text = report(result)
    if opts.output is not None:
        write_section(opts.output, NAME, text)
    print(text, file=sys.stderr)
    return 1 if result.aborted else 0

"""The webhook benchmark's figures: medians over runs, the aims, and its RESULTS.md section."""

from __future__ import annotations

from collections.abc import Callable
from statistics import median
from typing import TYPE_CHECKING

from bench.load import Sample
from bench.results import machine
from bench.stack import TARGETS

if TYPE_CHECKING:
    from bench.webhook import DatabaseResult, Options, Run

AIM_RATIO = 0.5  # relay throughput at least half the bare endpoint's
AIM_P99_MS = 50.0  # relay p99 under 50 ms at the fixed rate


def ratio(run: Run) -> float:
    """Relay throughput over bare throughput, within one run."""
    bare = run.throughput["bare"].throughput
    return run.throughput["relay"].throughput / bare if bare else 0.0


def _median(runs: list[Run], phase: str, target: str, figure: Callable[[Sample], float]) -> float:
    return median(figure(getattr(r, phase)[target]) for r in runs)


def _tp(s: Sample) -> float:
    return s.throughput


def _p50(s: Sample) -> float:
    return s.percentile_ms(50)


def _p99(s: Sample) -> float:
    return s.percentile_ms(99)


def _cpu(s: Sample) -> float:
    return s.client_cpu


def one_line(run: Run) -> str:
    """One run, in a line for the progress output."""
    tp, lat = run.throughput, run.latency
    return (
        f"throughput bare {tp['bare'].throughput:.0f} relay {tp['relay'].throughput:.0f} req/s "
        f"(ratio {ratio(run):.2f}); p50/p99 bare {_p50(lat['bare']):.1f}/{_p99(lat['bare']):.1f} "
        f"relay {_p50(lat['relay']):.1f}/{_p99(lat['relay']):.1f} ms; "
        f"relay caught up in {run.drain_seconds:.1f} s"
        + "".join(f"; FAILED {line}" for line in failures([run], label=False))
    )


def failures(runs: list[Run], *, label: bool = True) -> list[str]:
    """Every failed request of `runs`: run, phase, target, what the answer was, how often."""
    lines = []
    for index, run in enumerate(runs, 1):
        for phase in ("throughput", "latency"):
            for target, sample in getattr(run, phase).items():
                lines += [
                    f"{f'run {index} ' if label else ''}{phase} {target}: {what} ×{n}"
                    for what, n in sorted(sample.errors.items())
                ]
    return lines


def _verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def _table(runs: list[Run], opts: Options) -> list[str]:
    def row(label: str, phase: str, figure: Callable[[Sample], float], fmt: str) -> str:
        bare, relay = (_median(runs, phase, t, figure) for t in TARGETS)
        return f"| {label} | {bare:{fmt}} | {relay:{fmt}} | {relay / bare if bare else 0:.2f} |"

    rate = f"{opts.rate:g} req/s"
    return [
        "| figure (median of runs) | bare endpoint | relay | relay / bare |",
        "| --- | ---: | ---: | ---: |",
        row(f"throughput, {opts.concurrency} in flight (req/s)", "throughput", _tp, ".0f"),
        row(f"p50 acknowledgement latency at {rate} (ms)", "latency", _p50, ".1f"),
        row(f"p99 acknowledgement latency at {rate} (ms)", "latency", _p99, ".1f"),
        row("achieved rate in the latency phase (req/s)", "latency", _tp, ".1f"),
        row("load generator CPU in the throughput phase (cores)", "throughput", _cpu, ".2f"),
    ]


def _aims(runs: list[Run]) -> list[str]:
    median_ratio = median(ratio(r) for r in runs)
    p99 = _median(runs, "latency", "relay", _p99)
    per_run_p99 = ", ".join(f"{_p99(r.latency['relay']):.1f}" for r in runs)
    return [
        f"- relay throughput ≥ {AIM_RATIO:.0%} of the bare endpoint's: "
        f"{_verdict(median_ratio >= AIM_RATIO)} (median ratio of runs {median_ratio:.2f}; "
        f"per run: {', '.join(f'{ratio(r):.2f}' for r in runs)})",
        f"- relay p99 < {AIM_P99_MS:.0f} ms at the fixed rate: "
        f"{_verdict(p99 < AIM_P99_MS)} ({p99:.1f} ms; per run: "
        f"{per_run_p99})",
    ]


def database_section(result: DatabaseResult, opts: Options) -> str:
    """The markdown of one database: its table, the aims, what else was seen."""
    title = f"### {result.name}: {result.description or 'skipped'}"
    aborted = (
        f"\n**Aborted after {len(result.runs)} run(s):** {result.aborted}\n"
        if result.aborted
        else ""
    )
    if result.skipped or not result.runs:
        return f"{title}\n\nSkipped: {result.skipped or 'no runs'}\n{aborted}"
    runs = result.runs
    drain = median(r.drain_seconds for r in runs)
    lines = [title, "", *_table(runs, opts), "", *_aims(runs), ""]
    lines.append(
        f"- failed requests (not 200), all runs and phases: {result.failed}; "
        f"load average (1, 5, 15 min) before: {result.load[0]}, after: {result.load[1]}"
    )
    lines.append(
        f"- after each throughput phase the relay needed a median {drain:.1f} s more to send "
        f"the {opts.requests} echo replies and take their status callbacks; replies whose "
        f"`read` callback never reached it (all runs): {sum(r.missing_callbacks for r in runs)}"
    )
    lines += [f"  - failed: {line}" for line in failures(runs)]
    return "\n".join(lines) + "\n" + aborted


def render(results: list[DatabaseResult], opts: Options) -> str:
    """The whole webhook section of RESULTS.md."""
    head = [
        "## Webhook: `POST /twilio/messages`, relay vs bare FastAPI endpoint",
        "",
        machine(),
        f"- each figure is the median of {opts.runs} runs; relay and bare endpoint are measured "
        "back to back in every run (who goes first alternates)",
        f"- throughput: {opts.requests} requests, {opts.concurrency} in flight (closed loop); "
        f"latency: {opts.rate:g} req/s for {opts.seconds:g} s (open loop, from the due time); "
        f"{opts.warmup} warm-up requests per server; messages from {opts.senders} "
        "registered users, each with a new MessageSid",
        "",
    ]
    return "\n".join(head) + "\n" + "\n".join(database_section(r, opts) for r in results)


def summary(result: DatabaseResult) -> str:
    """One database's headline figures, for the terminal."""
    if result.skipped or not result.runs:
        return f"{result.name}: skipped ({result.skipped or result.aborted or 'no runs'})"
    runs = result.runs
    return (
        f"{result.name}: throughput ratio relay/bare {median(ratio(r) for r in runs):.2f}, "
        f"relay p99 {_median(runs, 'latency', 'relay', _p99):.1f} ms, failed {result.failed}"
    )

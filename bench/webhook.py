"""Benchmark of the relay's webhook path against a bare FastAPI endpoint, in the same run.

`python -m bench webhook [--runs 5] [--databases sqlite,postgres] ...`: for each
database, start the stack (see `bench.stack`), warm both servers up, then per run
measure both servers' closed-loop throughput and open-loop latency at a fixed rate.
The relay is let catch up with its background work (echo replies, status
callbacks) after each of its phases, so that work never slows the bare endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench import databases as dbs
from bench import webhook_report
from bench.load import Sample, closed_loop, open_loop
from bench.processes import log_tail
from bench.results import RESULTS, load_average, write_section
from bench.stack import METRICS_AUTH, TARGETS, Stack, running_stack, sender_phones

DRAIN_TIMEOUT = 300.0  # seconds the relay gets to send every echo reply
QUIET_LIMIT = 20.0  # seconds without progress after which the relay is taken as done


@dataclass(frozen=True)
class Options:
    """What to measure, and how much of it."""

    runs: int = 5
    requests: int = 1000
    concurrency: int = 16
    rate: float = 100.0
    seconds: float = 10.0
    warmup: int = 200
    senders: int = 50
    databases: tuple[str, ...] = ("sqlite", "postgres")
    postgres_url: str = field(default_factory=dbs.postgres_admin_url)
    output: Path | None = RESULTS


@dataclass
class Run:
    """One run's samples per target ("bare", "relay"), measured back to back."""

    throughput: dict[str, Sample]
    latency: dict[str, Sample]
    drain_seconds: float  # how long the relay took to finish its replies after the load
    missing_callbacks: int = 0  # replies whose `read` callback never reached the relay


@dataclass
class DatabaseResult:
    """Every run on one database, or why the database was skipped."""

    name: str
    description: str = ""
    runs: list[Run] = field(default_factory=list)
    skipped: str | None = None
    aborted: str | None = None  # why the runs stopped early, if they did
    load: tuple[str, str] = ("", "")  # load average before and after

    @property
    def failed(self) -> int:
        """Requests that did not get a 200, over every run and target."""
        samples = [s for r in self.runs for s in (*r.throughput.values(), *r.latency.values())]
        return sum(s.failed for s in samples)


def _metric_counts(text: str) -> dict[tuple[str, str], float]:
    counts: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            counts[(sample.name, ",".join(sample.labels.values()))] = sample.value
    return counts


def _check_real_path(counts: dict[tuple[str, str], float]) -> None:
    """Fail when the relay took any webhook other than a new message from a known user."""
    others = {
        result: value
        for (name, result), value in counts.items()
        if name == "cockpit_inbound_messages_total" and result != "accepted" and value
    }
    if others:
        raise RuntimeError(f"the relay did not accept every webhook as new: {others}")


async def _progress(client: httpx.AsyncClient, stack: Stack) -> tuple[float, float, float] | None:
    try:
        response = await client.get(f"{stack.urls['relay']}/metrics", headers=METRICS_AUTH)
    except httpx.TransportError:  # a busy relay may drop a poll; the next one will do
        return None
    counts = _metric_counts(response.text)
    _check_real_path(counts)
    return (
        counts.get(("cockpit_inbound_messages_total", "accepted"), 0),
        counts.get(("cockpit_outbound_messages_total", "sent"), 0),
        counts.get(("cockpit_status_callbacks_total", "read"), 0),
    )


async def drain(client: httpx.AsyncClient, stack: Stack) -> tuple[float, int]:
    """Wait until every accepted message's echo reply is sent and read, or nothing moves.

    Returns the seconds until the last progress, and how many `read` callbacks are
    missing: a callback the relay did not answer within the simulator's 15 s is not
    retried (as with Twilio), so an overloaded relay can lose some.
    """
    started = last_change = time.perf_counter()
    previous: tuple[float, float, float] | None = None
    while True:
        progress = await _progress(client, stack)
        now = time.perf_counter()
        if progress is not None and progress[0] == progress[1] == progress[2]:
            return now - started, 0
        if progress is not None and progress != previous:
            previous, last_change = progress, now
        elif now - last_change > QUIET_LIMIT or now - started > DRAIN_TIMEOUT:
            missing = int(previous[0] - previous[2]) if previous else 0
            return last_change - started, missing
        await asyncio.sleep(0.25)


def _load_client() -> httpx.AsyncClient:
    """A client for one phase: fresh, so no pooled connection went stale during a drain."""
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    return httpx.AsyncClient(timeout=30.0, limits=limits)


async def _throughput(stack: Stack, opts: Options, target: str) -> Sample:
    requests = stack.requests(target, opts.requests)
    async with _load_client() as client:
        return await closed_loop(client, stack.webhook_url(target), requests, opts.concurrency)


async def _latency(stack: Stack, opts: Options, target: str) -> Sample:
    requests = stack.requests(target, max(1, round(opts.rate * opts.seconds)))
    async with _load_client() as client:
        return await open_loop(client, stack.webhook_url(target), requests, opts.rate)


async def one_run(client: httpx.AsyncClient, stack: Stack, opts: Options, index: int) -> Run:
    """Throughput, then latency, of both targets; who goes first alternates between runs."""
    order = TARGETS if index % 2 == 0 else TARGETS[::-1]
    run = Run(throughput={}, latency={}, drain_seconds=0.0)
    for target in order:
        run.throughput[target] = await _throughput(stack, opts, target)
        if target == "relay":
            run.drain_seconds, run.missing_callbacks = await drain(client, stack)
    for target in order:
        run.latency[target] = await _latency(stack, opts, target)
        if target == "relay":
            run.missing_callbacks += (await drain(client, stack))[1]
    return run


async def _warm_up(stack: Stack, opts: Options, target: str) -> None:
    requests = stack.requests(target, opts.warmup)
    async with _load_client() as client:
        await closed_loop(client, stack.webhook_url(target), requests, opts.concurrency)


async def measure(stack: Stack, opts: Options, label: str, runs: list[Run]) -> None:
    """Warm both servers up, then do `opts.runs` runs into `runs`, printing each."""
    async with httpx.AsyncClient(timeout=10.0) as client:  # for the relay's /metrics
        for target in TARGETS:
            await _warm_up(stack, opts, target)
        await drain(client, stack)
        for index in range(opts.runs):
            runs.append(await one_run(client, stack, opts, index))
            print(
                f"{label} run {index + 1}/{opts.runs}: {webhook_report.one_line(runs[-1])}",
                flush=True,
            )


@contextmanager
def _database(name: str, opts: Options, workdir: Path) -> Iterator[str]:
    if name == "sqlite":
        with dbs.sqlite_database(workdir / "db") as url:
            yield url
    else:
        with dbs.postgres_database(opts.postgres_url) as url:
            yield url


def bench_database(name: str, opts: Options) -> DatabaseResult:
    """Every run of the benchmark on database `name` ("sqlite" or "postgres")."""
    result = DatabaseResult(name)
    if name == "postgres" and (reason := dbs.unreachable(opts.postgres_url)):
        result.skipped = reason
        return result
    phones = sender_phones(opts.senders)
    before = load_average()
    with tempfile.TemporaryDirectory(prefix="cockpit-bench-") as tmp:
        workdir = Path(tmp)
        with _database(name, opts, workdir) as url:
            dbs.prepare(url, phones)
            result.description = dbs.describe(url)
            try:
                with running_stack(url, workdir, phones) as stack:
                    asyncio.run(measure(stack, opts, name, result.runs))
            except (RuntimeError, httpx.HTTPError) as exc:
                result.aborted = f"{type(exc).__name__}: {exc}"
                print(f"{name}: aborted ({result.aborted}); relay log ends with:", file=sys.stderr)
                print(log_tail(workdir / "relay.log"), file=sys.stderr)
    result.load = (before, load_average())
    return result


def parse_options(argv: list[str]) -> Options:
    """The options of `python -m bench webhook`."""
    defaults = Options()
    parser = argparse.ArgumentParser(prog="python -m bench webhook", description=__doc__)
    parser.add_argument("--runs", type=int, default=defaults.runs)
    parser.add_argument("--requests", type=int, default=defaults.requests,
                        help="requests per closed-loop throughput measurement")  # fmt: skip
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency)
    parser.add_argument("--rate", type=float, default=defaults.rate, help="open loop, req/s")
    parser.add_argument("--seconds", type=float, default=defaults.seconds,
                        help="length of each open-loop latency measurement")  # fmt: skip
    parser.add_argument("--warmup", type=int, default=defaults.warmup)
    parser.add_argument("--senders", type=int, default=defaults.senders,
                        help="registered users the messages come from, round-robin")  # fmt: skip
    parser.add_argument("--databases", default=",".join(defaults.databases))
    parser.add_argument("--output", type=Path, default=defaults.output,
                        help="results file whose webhook section is rewritten")  # fmt: skip
    args = parser.parse_args(argv)
    chosen = tuple(d.strip() for d in args.databases.split(",") if d.strip())
    if not chosen or set(chosen) - {"sqlite", "postgres"}:
        parser.error("--databases takes sqlite, postgres or both, comma-separated")
    return replace(
        defaults, runs=args.runs, requests=args.requests, concurrency=args.concurrency,
        rate=args.rate, seconds=args.seconds, warmup=args.warmup, senders=args.senders,
        databases=chosen, output=args.output,
    )  # fmt: skip


def run(opts: Options) -> list[DatabaseResult]:
    """The benchmark on every chosen database; writes the results section when asked."""
    results: list[DatabaseResult] = []
    for name in opts.databases:
        results.append(bench_database(name, opts))
        if opts.output is not None:  # after each database, so a later failure loses nothing
            write_section(opts.output, "webhook", webhook_report.render(results, opts))
    return results


def main(argv: list[str]) -> int:
    """Entry point of `python -m bench webhook`; 1 when any request failed or a run aborted."""
    opts = parse_options(argv)
    results = run(opts)
    for result in results:
        print(webhook_report.summary(result), file=sys.stderr)
    return 1 if any(r.failed or r.aborted for r in results) else 0

"""One relay process against three, on one PostgreSQL: webhook throughput and latency.

`python -m bench relays [--runs 5]`: the `webhook` benchmark's stack on a throw-away
PostgreSQL database, plus two more `cockpit relay` processes started for the
three-relay phases of each run and stopped after them (so the one-relay phases run
alone). All relays share the database, the secret key and the public address (the first
relay's), as behind a load balancer; the load generator spreads the webhooks over them
in turn (request i to relay i mod 3; closed-loop workers pinned round-robin). Per run,
back to back: bare endpoint, one relay, three relays, each with the `webhook` phases
(closed-loop throughput, then open-loop latency at a fixed rate), the relays let catch
up with their echo replies and status callbacks after each phase.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import databases as dbs
from bench.load import Sample, SignedRequest
from bench.processes import free_port, server
from bench.results import RESULTS, load_average, machine, write_section
from bench.soak import counter
from bench.stack import METRICS_AUTH, Stack, running_stack, sender_phones
from bench.webhook import QUIET_LIMIT

KINDS = ("bare", "1 relay", "3 relays")


@dataclass(frozen=True)
class Options:
    runs: int = 5
    requests: int = 1000
    concurrency: int = 16
    rate: float = 100.0
    seconds: float = 10.0
    senders: int = 50
    postgres_url: str = field(default_factory=dbs.postgres_admin_url)
    output: Path | None = RESULTS


@dataclass
class Figures:
    throughput: dict[str, list[float]] = field(default_factory=dict)
    p50: dict[str, list[float]] = field(default_factory=dict)
    p99: dict[str, list[float]] = field(default_factory=dict)
    failed: int = 0

    def add(self, kind: str, tput: Sample, lat: Sample) -> None:
        self.throughput.setdefault(kind, []).append(tput.throughput)
        self.p50.setdefault(kind, []).append(lat.percentile_ms(50))
        self.p99.setdefault(kind, []).append(lat.percentile_ms(99))
        self.failed += tput.failed + lat.failed


async def _post(client: httpx.AsyncClient, url: str, request: SignedRequest, sample: Sample,
                due: float) -> None:  # fmt: skip
    try:
        sample.record(due, await client.post(url, content=request.body, headers=request.headers))
    except httpx.HTTPError as exc:
        sample.record(due, exc)


async def spread_closed(
    urls: Sequence[str], requests: list[SignedRequest], concurrency: int
) -> Sample:
    """Closed loop with workers pinned to `urls` in turn: the throughput sample."""
    sample, pending = Sample(), iter(requests)
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def worker(url: str) -> None:
            for request in pending:
                await _post(client, url, request, sample, time.perf_counter())

        started = time.perf_counter()
        await asyncio.gather(*(worker(urls[k % len(urls)]) for k in range(concurrency)))
        sample.seconds = time.perf_counter() - started
    return sample


async def spread_open(urls: Sequence[str], requests: list[SignedRequest], rate: float) -> Sample:
    """Request i leaves at i/`rate` s for urls[i mod n]; latency from when it was due."""
    sample = Sample()
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def one(i: int, request: SignedRequest, due: float) -> None:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            await _post(client, urls[i % len(urls)], request, sample, due)

        start = time.perf_counter() + 0.05
        await asyncio.gather(*(one(i, r, start + i / rate) for i, r in enumerate(requests)))
        sample.seconds = time.perf_counter() - start
    return sample


async def drain(relays: Sequence[str]) -> None:
    """Wait until every relay's accepted messages are echoed and read, or nothing moves."""
    started = last_change = time.perf_counter()
    previous: tuple[float, float, float] | None = None
    async with httpx.AsyncClient(timeout=10) as client:
        while (
            time.perf_counter() - last_change < QUIET_LIMIT and time.perf_counter() - started < 300
        ):
            totals = [0.0, 0.0, 0.0]
            for url in relays:
                try:
                    text = (await client.get(f"{url}/metrics", headers=METRICS_AUTH)).text
                except httpx.TransportError:
                    break
                for i, (name, label) in enumerate((("cockpit_inbound_messages_total", "accepted"),
                        ("cockpit_outbound_messages_total", "sent"),
                        ("cockpit_status_callbacks_total", "read"))):  # fmt: skip
                    totals[i] += counter(text, name, label)
            progress = (totals[0], totals[1], totals[2])
            if progress[0] == progress[1] == progress[2]:
                return
            if progress != previous:
                previous, last_change = progress, time.perf_counter()
            await asyncio.sleep(0.25)


@contextmanager
def two_more_relays(stack: Stack) -> Iterator[list[str]]:
    """Two more relay processes like the stack's first, until the block ends."""
    assert stack.workdir is not None
    with ExitStack() as processes:
        urls = []
        for n in (2, 3):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            processes.enter_context(server(
                ["-m", "cockpit", "relay", "--port", str(port)], ready_url=f"{url}/healthz",
                log_path=stack.workdir / f"relay{n}.log", cwd=stack.workdir, env=stack.relay_env,
            ))  # fmt: skip
            urls.append(url)
        yield urls


async def _phases(
    stack: Stack, urls: list[str], opts: Options, relays: list[str]
) -> tuple[Sample, Sample]:
    signed_for = stack.webhook_url("bare" if urls == [stack.urls["bare"]] else "relay")
    hooks = [f"{u}/twilio/messages" for u in urls]
    tput = await spread_closed(
        hooks, stack.signer.requests(signed_for, opts.requests), opts.concurrency
    )
    await drain(relays)
    count = max(1, round(opts.rate * opts.seconds))
    lat = await spread_open(hooks, stack.signer.requests(signed_for, count), opts.rate)
    await drain(relays)
    return tput, lat


def one_run(stack: Stack, opts: Options, figures: Figures) -> None:
    """Bare, one relay, three relays, back to back."""
    first = stack.urls["relay"]
    figures.add("bare", *asyncio.run(_phases(stack, [stack.urls["bare"]], opts, [first])))
    figures.add("1 relay", *asyncio.run(_phases(stack, [first], opts, [first])))
    with two_more_relays(stack) as more:
        relays = [first, *more]
        figures.add("3 relays", *asyncio.run(_phases(stack, relays, opts, relays)))


def run(opts: Options) -> tuple[Figures, str]:
    """Every run on a throw-away PostgreSQL database; the figures and the database's name."""
    if reason := dbs.unreachable(opts.postgres_url):
        raise SystemExit(reason)
    figures, phones = Figures(), sender_phones(opts.senders)
    with tempfile.TemporaryDirectory(prefix="cockpit-relays-") as tmp:
        workdir = Path(tmp)
        with dbs.postgres_database(opts.postgres_url) as url:
            dbs.prepare(url, phones)
            description = dbs.describe(url)
            with running_stack(url, workdir, phones) as stack:
                for index in range(opts.runs):
                    one_run(stack, opts, figures)
                    print(f"relays run {index + 1}/{opts.runs}: " + ", ".join(
                        f"{k} {figures.throughput[k][-1]:.0f} req/s p99 {figures.p99[k][-1]:.0f} ms"
                        for k in KINDS), flush=True)  # fmt: skip
    return figures, description


def _ratios(a: list[float], b: list[float]) -> str:
    ratios = [x / y for x, y in zip(a, b, strict=True) if y]
    return f"{statistics.median(ratios):.2f} (per run: {', '.join(f'{r:.2f}' for r in ratios)})"


def report(figures: Figures, opts: Options, description: str, load: tuple[str, str]) -> str:
    """The relays section of RESULTS.md."""
    med = statistics.median
    rows = [f"| {k} | {med(figures.throughput[k]):.0f} | {med(figures.p50[k]):.1f} | "
            f"{med(figures.p99[k]):.1f} |" for k in KINDS]  # fmt: skip
    t = figures.throughput
    return "\n".join([
        "## Webhook: one relay process against three, on one PostgreSQL",
        "",
        machine(),
        f"- {description}; {opts.runs} runs; per run bare, 1 relay, 3 relays back to back",
        f"- throughput: {opts.requests} requests, {opts.concurrency} in flight (closed loop, "
        f"workers spread over the relays); latency: {opts.rate:g} req/s for {opts.seconds:g} s "
        "(open loop, from the due time); messages from "
        f"{opts.senders} users; each relay runs its dispatcher and sender (echo agent)",
        f"- load average (1, 5, 15 min) before: {load[0]}, after: {load[1]}",
        "",
        "| target | throughput (req/s, median) | p50 at the fixed rate (ms) | p99 (ms) |",
        "| --- | ---: | ---: | ---: |",
        *rows,
        "",
        f"- 3 relays / 1 relay, throughput: {_ratios(t['3 relays'], t['1 relay'])}",
        f"- 1 relay / bare, throughput: {_ratios(t['1 relay'], t['bare'])}",
        f"- 3 relays / bare, throughput: {_ratios(t['3 relays'], t['bare'])}",
        f"- failed requests (not 200), all runs and phases: {figures.failed}",
    ])  # fmt: skip


def parse_options(argv: list[str]) -> Options:
    """The options of `python -m bench relays`."""
    d = Options()
    parser = argparse.ArgumentParser(prog="python -m bench relays", description=__doc__)
    for name in ("runs", "requests", "concurrency", "senders"):
        parser.add_argument(f"--{name}", type=int, default=getattr(d, name))
    parser.add_argument("--rate", type=float, default=d.rate)
    parser.add_argument("--seconds", type=float, default=d.seconds)
    parser.add_argument("--output", type=Path, default=d.output, help="the RESULTS.md to update")
    a = parser.parse_args(argv)
    return Options(a.runs, a.requests, a.concurrency, a.rate, a.seconds, a.senders,
                   d.postgres_url, a.output)  # fmt: skip


def main(argv: list[str]) -> int:
    """Measure and write the relays section."""
    opts = parse_options(argv)
    before = load_average()
    figures, description = run(opts)
    text = report(figures, opts, description, (before, load_average()))
    print(text)
    if opts.output is not None:
        write_section(opts.output, "relays", text)
    return 0

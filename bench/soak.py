"""Soak: steady traffic through relay + simulator + echo agent; is the relay's footprint flat?

`python -m bench soak --minutes 30 [--rate 5] [--interval 30]`: start the stack of the
webhook benchmark (`bench.stack`, SQLite by default), post signed webhooks at a fixed
rate for the whole time, and every `--interval` seconds sample the relay process's
resident memory (VmRSS) and open file descriptors from /proc. At the end wait for
the relay to answer everything, check every message was echoed, and write the
first/last/max of both and their least-squares slope to RESULTS.md. Not for CI.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import databases as dbs
from bench.load import Sample, open_loop
from bench.results import RESULTS, load_average, machine, write_section
from bench.stack import METRICS_AUTH, Stack, running_stack, sender_phones
from bench.webhook import drain


@dataclass(frozen=True)
class Options:
    """How long, how fast, how often to look."""

    minutes: float = 30.0
    rate: float = 5.0
    interval: float = 30.0
    senders: int = 50
    database: str = "sqlite"
    postgres_url: str = field(default_factory=dbs.postgres_admin_url)
    output: Path | None = RESULTS


@dataclass
class Reading:
    """One look at the relay process."""

    minute: float
    rss_mib: float
    fds: int


@dataclass
class Soak:
    """Everything one soak saw."""

    readings: list[Reading] = field(default_factory=list)
    traffic: Sample = field(default_factory=Sample)
    accepted: float = 0.0
    sent: float = 0.0
    missing_callbacks: int = 0
    load: tuple[str, str] = ("", "")


def rss_mib(pid: int) -> float:
    """The resident memory of process `pid`, in MiB (VmRSS from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def open_fds(pid: int) -> int:
    """How many file descriptors process `pid` has open."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (minute, value) points, per hour (0 with fewer than 2)."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    if var == 0:
        return 0.0
    return 60.0 * sum((x - mx) * (y - my) for x, y in points) / var


async def _sample(pid: int, start: float, opts: Options, soak: Soak, done: asyncio.Event) -> None:
    while True:
        minute = (time.perfcounter() - start) / 60
        soak.readings.append(Reading(minute, rss_mib(pid), open_fds(pid)))
        last = soak.readings[-1]
        print(f"soak {minute:6.1f} min: rss {last.rss_mib:.1f} MiB, fds {last.fds}", flush=True)
        if done.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=opts.interval)


async def _traffic(stack: Stack, opts: Options, soak: Soak) -> None:
    """Open-loop webhooks at `opts.rate`, signed one interval's worth at a time."""
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    end = time.perfcounter() + opts.minutes * 60
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:
        while (left := end - time.perfcounter()) > 0:
            seconds = min(opts.interval, left)
            requests = stack.requests("relay", max(1, round(opts.rate * seconds)))
            part = await open_loop(client, stack.webhook_url("relay"), requests, opts.rate)
            soak.traffic.ok += part.ok
            soak.traffic.failed += part.failed
            soak.traffic.latencies += part.latencies
            soak.traffic.first_error = soak.traffic.first_error or part.first_error


async def soak_stack(stack: Stack, opts: Options) -> Soak:
    """Load the running `stack` for `opts.minutes`, sampling the relay throughout."""
    soak, done = Soak(), asyncio.Event()
    start = time.perfcounter()
    sampler = asyncio.create_task(_sample(stack.pids["relay"], start, opts, soak, done))
    await _traffic(stack, opts, soak)
    async with httpx.AsyncClient(timeout=10.0) as client:
        _, soak.missing_callbacks = await drain(client, stack)
        metrics = (await client.get(f"{stack.urls['relay']}/metrics", headers=METRICS_AUTH)).text
    done.set()
    await sampler
    soak.accepted = counter(metrics, "cockpit_inbound_messages_total", "accepted")
    soak.sent = counter(metrics, "cockpit_outbound_messages_total", "sent")
    return soak


def counter(metrics: str, name: str, result: str) -> float:
    """The value of counter `name` with label value `result` in Prometheus text (0 if absent)."""
    for line in metrics.splitlines():
        if line.startswith(f"{name}{{") and f'"{result}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def run(opts: Options) -> Soak:
    """Start a stack on a throw-away database and soak it."""
    phones = sender_phones(opts.senders)
    before = load_average()
    with tempfile.TemporaryDirectory(prefix="cockpit-soak-") as tmp:
        workdir = Path(tmp)
        if opts.database == "sqlite":
            database = dbs.sqlite_database(workdir / "db")
        else:
            database = dbs.postgres_database(opts.postgres_url)
        with database as url:
            dbs.prepare(url, phones)
            with running_stack(url, workdir, phones) as stack:
                soak = asyncio.run(soak_stack(stack, opts))
    soak.load = (before, load_average())
    return soak


def report(soak: Soak, opts: Options) -> str:
    """The soak's section of RESULTS.md."""
    r = soak.readings
    warm = [x for x in r if x.minute >= min(2.0, opts.minutes / 4)] or r
    rss = [(x.minute, x.rss_mib) for x in warm]
    fds = [(x.minute, float(x.fds)) for x in warm]
    late = [x for x in r if x.minute >= opts.minutes / 2] or r
    late_rss = slope_per_hour([(x.minute, x.rss_mib) for x in late])
    lines = [
        "## Soak: relay memory and file descriptors under steady traffic",
        "",
        machine(),
        f"- {opts.minutes:g} min at {opts.rate:g} webhooks/s from {opts.senders} users, "
        f"{opts.database}, echo agent; relay sampled every {opts.interval:g} s "
        f"({len(r)} samples); slopes fitted from minute {warm[0].minute:.1f} on",
        f"- load average (1, 5, 15 min) before: {soak.load[0]}, after: {soak.load[1]}",
        "",
        "| figure | first | last | max | slope per hour |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| relay RSS (MiB) | {r[0].rss_mib:.1f} | {r[-1].rss_mib:.1f} | "
        f"{max(x.rss_mib for x in r):.1f} | {slope_per_hour(rss):+.2f} MiB |",
        f"| relay open fds | {r[0].fds} | {r[-1].fds} | {max(x.fds for x in r)} | "
        f"{slope_per_hour(fds):+.2f} |",
        "",
        f"- RSS slope over the second half only: {late_rss:+.2f} MiB per hour",
        f"- webhooks answered 200: {soak.traffic.ok}, failed: {soak.traffic.failed}"
        + (f" (first: {soak.traffic.first_error})" if soak.traffic.first_error else ""),
        f"- relay counted {soak.accepted:.0f} accepted and {soak.sent:.0f} echo replies sent; "
        f"replies whose `read` callback never came back: {soak.missing_callbacks}",
        f"- webhook latency p50 {soak.traffic.percentile_ms(50):.1f} ms, "
        f"p99 {soak.traffic.percentile_ms(99):.1f} ms",
        "",
        "RSS by sample (minute: MiB): " + ", ".join(f"{x.minute:.0f}: {x.rss_mib:.1f}" for x in r),
    ]
    return "\n".join(lines)


def parse_options(argv: list[str]) -> Options:
    """The options of `python -m bench soak`."""
    d = Options()
    parser = argparse.ArgumentParser(prog="python -m bench soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=d.minutes)
    parser.add_argument("--rate", type=float, default=d.rate, help="webhooks per second")
    parser.add_argument("--interval", type=float, default=d.interval, help="seconds per sample")
    parser.add_argument("--senders", type=int, default=d.senders)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default=d.database)
    parser.add_argument("--output", type=Path, default=d.output, help="the RESULTS.md to update")
    a = parser.parse_args(argv)
    return Options(a.minutes, a.rate, a.interval, a.senders, a.database, d.postgres_url, a.output)


def main(argv: list[str]) -> int:
    """Run the soak and write its section; 1 if any message went unanswered."""
    opts = parse_options(argv)
    soak = run(opts)
    text = report(soak, opts)
    print(text)
    if opts.output is not None:
        write_section(opts.output, "soak", text)
    lost = soak.traffic.failed or soak.accepted != soak.sent or soak.accepted != soak.traffic.ok
    return 1 if lost else 0

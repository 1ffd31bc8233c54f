"""Memory of idle processes: a relay with 1,000 users against bare FastAPI, a host against bare
Python.

`python -m bench memory [--runs 5] [--users 1000]`: per run, start each process fresh
on 127.0.0.1, let it settle, and read its resident memory (VmRSS, /proc). Processes:

- relay: `python -m cockpit relay` (echo agent) on a SQLite database holding `--users`
  users, each with a host link row; before the reading it answers one signed webhook
  from each of 20 users and sends the echoes to the simulator, so its code paths are
  loaded, then it idles;
- bare: `python -m bench.servers bare`, the webhook benchmark's minimal FastAPI app
  under uvicorn, after 20 of the same webhooks;
- host: `python -m cockpit host` with a fresh workspace, after a `GET /health`
  (no turn yet, so no Claude Code process; `bench turns` measures the host with
  live ones);
- python: `python -c` sleeping, the interpreter alone.

Ratios (relay / bare, host / python) are taken within each run; figures are medians.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import databases as dbs
from bench.load import closed_loop
from bench.processes import clean_env, free_port, server
from bench.results import RESULTS, load_average, machine, write_section
from bench.soak import rss_mib
from bench.stack import Stack, running_stack, sender_phones
from bench.webhook import drain
from cockpit.store import hosts, users
from cockpit.store.db import Database

SETTLE_SECONDS = 2.0
WARM_REQUESTS = 20


@dataclass(frozen=True)
class Options:
    runs: int = 5
    users: int = 1000
    output: Path | None = RESULTS


@dataclass
class Readings:
    """RSS in MiB per process kind, one value per run."""

    rss: dict[str, list[float]] = field(default_factory=dict)

    def add(self, kind: str, value: float) -> None:
        self.rss.setdefault(kind, []).append(value)

    def median(self, kind: str) -> float:
        return statistics.median(self.rss[kind])

    def ratio(self, kind: str, base: str) -> list[float]:
        return [a / b for a, b in zip(self.rss[kind], self.rss[base], strict=True)]


def _prepare_users(url: str, count: int) -> None:
    """`count` users, each with a host link row, as a relay of that many users has."""
    dbs.prepare(url, sender_phones(count))
    db = Database(url)
    try:
        for user in users.list_users(db):
            hosts.get_link(db, user.id)
    finally:
        db.dispose()


async def _warm(stack: Stack, target: str) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        requests = stack.requests(target, WARM_REQUESTS)
        sample = await closed_loop(client, stack.webhook_url(target), requests, 4)
        if sample.failed:
            raise RuntimeError(f"{target}: {sample.failed} warm-up webhooks failed")


def _relay_and_bare(workdir: Path, opts: Options, readings: Readings) -> None:
    with dbs.sqlite_database(workdir / "db") as url:
        _prepare_users(url, opts.users)
        with running_stack(url, workdir, sender_phones(WARM_REQUESTS)) as stack:
            for target in ("relay", "bare"):
                asyncio.run(_warm(stack, target))
            asyncio.run(_drained(stack))
            time.sleep(SETTLE_SECONDS)
            readings.add("relay", rss_mib(stack.pids["relay"]))
            readings.add("bare", rss_mib(stack.pids["bare"]))


async def _drained(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        await drain(client, stack)


@contextmanager
def _host(workdir: Path) -> Iterator[int]:
    port = free_port()
    env = clean_env({
        "COCKPIT_HOST_TOKEN": "bench-token", "COCKPIT_DATA_DIR": str(workdir / "host"),
        "COCKPIT_WORKSPACE": str(workdir / "workspace"), "COCKPIT_AGENT": "claude",
        "COCKPIT_LOG_LEVEL": "WARNING",
    })  # fmt: skip
    args = ["-m", "cockpit", "host", "--host", "127.0.0.1", "--port", str(port)]
    ready = f"http://127.0.0.1:{port}/health"
    with server(args, ready_url=ready, log_path=workdir / "host.log", cwd=workdir, env=env) as p:
        yield p.pid


def _host_and_python(workdir: Path, readings: Readings) -> None:
    with _host(workdir) as pid:
        time.sleep(SETTLE_SECONDS)
        readings.add("host", rss_mib(pid))
    code = "import time; time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code], env=clean_env({}))
    try:
        time.sleep(SETTLE_SECONDS)
        readings.add("python", rss_mib(proc.pid))
    finally:
        proc.kill()
        proc.wait()


def run(opts: Options) -> Readings:
    """Every run; who is measured first alternates between relay/bare and host/python."""
    readings = Readings()
    for index in range(opts.runs):
        with tempfile.TemporaryDirectory(prefix="cockpit-memory-") as tmp:
            parts = [lambda: _relay_and_bare(Path(tmp), opts, readings),
                     lambda: _host_and_python(Path(tmp), readings)]  # fmt: skip
            for part in parts if index % 2 == 0 else parts[::-1]:
                part()
        seen = ", ".join(f"{k} {v[-1]:.1f} MiB" for k, v in readings.rss.items())
        print(f"memory run {index + 1}/{opts.runs}: {seen}", flush=True)
    return readings


def report(readings: Readings, opts: Options, load: tuple[str, str]) -> str:
    """The memory section of RESULTS.md."""
    rows = [("relay", "idle relay, echo agent, SQLite, after 20 webhooks"),
            ("bare", "bare FastAPI + uvicorn (baseline), after 20 webhooks"),
            ("host", "idle host (`cockpit host`), no turn yet"),
            ("python", "bare Python interpreter (baseline)")]  # fmt: skip
    lines = [
        "## Memory: idle relay with many users, idle host",
        "",
        machine(),
        f"- {opts.runs} runs, fresh processes each; the relay's database holds {opts.users} "
        f"users, each with a host link; RSS read {SETTLE_SECONDS:g} s after the last request",
        f"- load average (1, 5, 15 min) before: {load[0]}, after: {load[1]}",
        "",
        "| process | median RSS (MiB) | per run |",
        "| --- | ---: | --- |",
    ]
    for kind, label in rows:
        per_run = ", ".join(f"{v:.1f}" for v in readings.rss[kind])
        lines.append(f"| {label} | {readings.median(kind):.1f} | {per_run} |")
    for kind, base in (("relay", "bare"), ("host", "python")):
        ratios = readings.ratio(kind, base)
        lines.append(
            f"\n- {kind} / {base}: median {statistics.median(ratios):.2f} "
            f"(per run: {', '.join(f'{r:.2f}' for r in ratios)})"
        )
    return "\n".join(lines)


def parse_options(argv: list[str]) -> Options:
    """The options of `python -m bench memory`."""
    parser = argparse.ArgumentParser(prog="python -m bench memory", description=__doc__)
    parser.add_argument("--runs", type=int, default=Options.runs)
    parser.add_argument("--users", type=int, default=Options.users)
    parser.add_argument("--output", type=Path, default=RESULTS, help="the RESULTS.md to update")
    args = parser.parse_args(argv)
    return Options(args.runs, args.users, args.output)


def main(argv: list[str]) -> int:
    """Measure and write the memory section."""
    opts = parse_options(argv)
    before = load_average()
    readings = run(opts)
    text = report(readings, opts, (before, load_average()))
    print(text)
    if opts.output is not None:
        write_section(opts.output, "memory", text)
    return 0

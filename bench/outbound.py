"""Outbound sending rate to the Twilio stand-in: the relay's sender against a plain httpx loop.

`python -m bench outbound [--runs 5] [--messages 500] [--phones 50]`: start the webhook
benchmark's stack (simulator, relay with the echo agent on SQLite, bare endpoint); each
phone first writes once, so WhatsApp's 24-hour window is open. Per run, both ways send
the same messages (`--messages`, spread over `--phones` recipients) to the simulator's
Messages API, back to back, who goes first alternating:

- relay: the rows are written into the relay's outbox in one transaction; timed from
  that commit until the relay's `/metrics` counts them all sent (Twilio answered 201).
  The sender works as in production: one message per phone at a time, the next only
  once Twilio's `sent` callback (or the order timeout) confirms the previous, each row
  claimed and updated in the database, status callbacks taken.
- plain: one `httpx.AsyncClient`, one task per phone posting its messages one after
  another (the same per-phone order), concurrently across phones; timed until the last
  201. The simulator's callbacks go to the bare endpoint, so the simulator works alike.

Figures: messages per second for each (median of runs) and relay / plain within each run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import databases as dbs
from bench.results import RESULTS, load_average, machine, write_section
from bench.soak import counter
from bench.stack import (
    ACCOUNT_SID,
    METRICS_AUTH,
    WHATSAPP_FROM,
    Stack,
    running_stack,
    sender_phones,
)
from bench.webhook import drain
from cockpit.core.messages import OutboundDraft
from cockpit.store import outbox
from cockpit.store.db import Database

QUIET_SECONDS = 2.0  # no new status callback for this long: the relay is idle again


@dataclass(frozen=True)
class Options:
    runs: int = 5
    messages: int = 500
    phones: int = 50
    output: Path | None = RESULTS


@dataclass
class Rates:
    relay: list[float] = field(default_factory=list)
    plain: list[float] = field(default_factory=list)


def _bodies(opts: Options, run: int) -> dict[str, list[str]]:
    """Each phone's messages for one run, in order."""
    phones = sender_phones(opts.phones)
    per_phone: dict[str, list[str]] = {p: [] for p in phones}
    for n in range(opts.messages):
        per_phone[phones[n % len(phones)]].append(f"run {run} message {n}")
    return per_phone


async def _metric(client: httpx.AsyncClient, stack: Stack, name: str, label: str) -> float:
    return counter(
        (await client.get(f"{stack.urls['relay']}/metrics", headers=METRICS_AUTH)).text, name, label
    )


async def _settle(client: httpx.AsyncClient, stack: Stack) -> None:
    """Wait until the relay takes no more status callbacks (the previous phase is over)."""
    previous, still_since = -1.0, time.perf_counter()
    while time.perf_counter() - still_since < QUIET_SECONDS:
        now = await _metric(client, stack, "cockpit_status_callbacks_total", "read")
        if now != previous:
            previous, still_since = now, time.perf_counter()
        await asyncio.sleep(0.2)


async def relay_rate(stack: Stack, db: Database, per_phone: dict[str, list[str]]) -> float:
    """Messages per second the relay's sender gets accepted by the simulator."""
    drafts = [OutboundDraft(key=f"bench:{uuid.uuid4().hex}", to=phone, body=body)
              for phone, bodies in per_phone.items() for body in bodies]  # fmt: skip
    async with httpx.AsyncClient(timeout=10) as client:
        start = await _metric(client, stack, "cockpit_outbound_messages_total", "sent")
        began = time.perf_counter()
        await asyncio.to_thread(outbox.enqueue_now, db, drafts)
        target = start + len(drafts)  # counted by the relay process: polled, not awaited
        sent = "cockpit_outbound_messages_total"
        while await _metric(client, stack, sent, "sent") < target:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - began
        await _settle(client, stack)
    return len(drafts) / elapsed


async def plain_rate(stack: Stack, per_phone: dict[str, list[str]]) -> float:
    """Messages per second a plain httpx loop gets accepted by the simulator."""
    url = f"{stack.urls['simulator']}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    callback = f"{stack.urls['bare']}/twilio/status"
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    auth = (ACCOUNT_SID, stack.auth_token)
    async with httpx.AsyncClient(timeout=30, auth=auth, limits=limits) as client:

        async def one_phone(phone: str, bodies: list[str]) -> None:
            for body in bodies:
                data = {"To": f"whatsapp:{phone}", "From": WHATSAPP_FROM, "Body": body,
                        "StatusCallback": callback}  # fmt: skip
                for attempt in range(3):  # a dropped connection is tried again, as the relay does
                    try:
                        (await client.post(url, data=data)).raise_for_status()
                        break
                    except httpx.TransportError:
                        if attempt == 2:
                            raise

        began = time.perf_counter()
        await asyncio.gather(*(one_phone(p, b) for p, b in per_phone.items()))
        elapsed = time.perf_counter() - began
    await asyncio.sleep(QUIET_SECONDS)  # the simulator's callbacks to the bare endpoint
    return sum(len(b) for b in per_phone.values()) / elapsed


async def _open_windows(stack: Stack, phones: int) -> None:
    """One message from every phone (echoed), so WhatsApp's window is open for each."""
    async with httpx.AsyncClient(timeout=30) as client:
        for request in stack.requests("relay", phones):
            response = await client.post(
                stack.webhook_url("relay"), content=request.body, headers=request.headers
            )
            response.raise_for_status()
        await drain(client, stack)


async def measure(stack: Stack, db: Database, opts: Options) -> Rates:
    """Every run, relay and plain back to back."""
    rates = Rates()
    await _open_windows(stack, opts.phones)
    for run in range(opts.runs):
        order = ("relay", "plain") if run % 2 == 0 else ("plain", "relay")
        for way in order:
            per_phone = _bodies(opts, run * 2 + (way == "plain"))
            if way == "relay":
                rates.relay.append(await relay_rate(stack, db, per_phone))
            else:
                rates.plain.append(await plain_rate(stack, per_phone))
        print(f"outbound run {run + 1}/{opts.runs}: relay {rates.relay[-1]:.1f} msg/s, "
              f"plain {rates.plain[-1]:.1f} msg/s", flush=True)  # fmt: skip
    return rates


def run(opts: Options) -> Rates:
    """Start the stack on a throw-away SQLite database and measure."""
    phones = sender_phones(opts.phones)
    with tempfile.TemporaryDirectory(prefix="cockpit-outbound-") as tmp:
        workdir = Path(tmp)
        with dbs.sqlite_database(workdir / "db") as url:
            dbs.prepare(url, phones)
            fast_poll = {"COCKPIT_POLL_SECONDS": "0.05"}  # it sees the bench's rows at once
            with running_stack(url, workdir, phones, fast_poll) as stack:
                db = Database(url)
                try:
                    return asyncio.run(measure(stack, db, opts))
                finally:
                    db.dispose()


def report(rates: Rates, opts: Options, load: tuple[str, str]) -> str:
    """The outbound section of RESULTS.md."""
    ratios = [r / p for r, p in zip(rates.relay, rates.plain, strict=True)]
    return "\n".join([
        "## Outbound: sending to the Twilio stand-in, relay sender vs a plain httpx loop",
        "",
        machine(),
        f"- {opts.runs} runs × {opts.messages} messages to {opts.phones} phones "
        "(the same per-phone order both ways); SQLite; relay polls every 0.05 s",
        f"- load average (1, 5, 15 min) before: {load[0]}, after: {load[1]}",
        "",
        "| way | median (msg/s) | per run |",
        "| --- | ---: | --- |",
        f"| relay's sender (outbox → Messages API) | {statistics.median(rates.relay):.1f} | "
        + ", ".join(f"{r:.1f}" for r in rates.relay) + " |",
        f"| plain httpx loop (baseline) | {statistics.median(rates.plain):.1f} | "
        + ", ".join(f"{r:.1f}" for r in rates.plain) + " |",
        "",
        f"- relay / plain: median {statistics.median(ratios):.2f} "
        f"(per run: {', '.join(f'{r:.2f}' for r in ratios)})",
    ])  # fmt: skip


def parse_options(argv: list[str]) -> Options:
    """The options of `python -m bench outbound`."""
    parser = argparse.ArgumentParser(prog="python -m bench outbound", description=__doc__)
    parser.add_argument("--runs", type=int, default=Options.runs)
    parser.add_argument("--messages", type=int, default=Options.messages)
    parser.add_argument("--phones", type=int, default=Options.phones)
    parser.add_argument("--output", type=Path, default=RESULTS, help="the RESULTS.md to update")
    a = parser.parse_args(argv)
    return Options(a.runs, a.messages, a.phones, a.output)


def main(argv: list[str]) -> int:
    """Measure and write the outbound section."""
    opts = parse_options(argv)
    before = load_average()
    rates = run(opts)
    text = report(rates, opts, (before, load_average()))
    print(text)
    if opts.output is not None:
        write_section(opts.output, "outbound", text)
    return 0

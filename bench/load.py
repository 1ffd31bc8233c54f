"""The load generator: pre-signed Twilio webhooks, sent closed-loop or at a fixed rate.

Closed loop (`closed_loop`): a fixed number of workers each send the next request
as soon as their previous one is answered; gives the throughput.
Open loop (`open_loop`): requests leave at a fixed rate whatever the answers; the
latency of each is counted from when it was due, so a stalled server cannot hide
its queue (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import math
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class SignedRequest:
    """One webhook, ready to send: form body and headers, signature included."""

    body: bytes
    headers: dict[str, str]


@dataclass
class Sample:
    """What one measurement saw: answers, failures, wall time, latencies in seconds."""

    ok: int = 0
    failed: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    client_cpu: float = 0.0  # the load generator's CPU use, in cores, while it ran
    first_error: str | None = None
    errors: Counter[str] = field(default_factory=Counter)  # every failure, by what it was

    @property
    def throughput(self) -> float:
        """Successful requests per second."""
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile_ms(self, q: float) -> float:
        """The `q`-th percentile latency (nearest rank), in milliseconds."""
        return percentile(self.latencies, q) * 1000.0

    def record(self, started: float, response: httpx.Response | BaseException) -> None:
        """Count one answer (or transport error) of a request that was due at `started`."""
        self.latencies.append(time.perf_counter() - started)
        if isinstance(response, httpx.Response) and response.status_code == 200:
            self.ok += 1
            return
        self.failed += 1
        described = _describe(response)
        self.errors[described] += 1
        if self.first_error is None:
            self.first_error = described


def _describe(response: httpx.Response | BaseException) -> str:
    if isinstance(response, httpx.Response):
        return f"HTTP {response.status_code}: {response.text[:200]}"
    return f"{type(response).__name__}: {str(response)[:200]}"


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank `q`-th percentile of `values` (0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


class WebhookSigner:
    """Makes unique, correctly signed inbound-message webhooks for one server's URL."""

    def __init__(self, *, auth_token: str, account_sid: str, to: str, senders: Sequence[str]):
        self._validator = RequestValidator(auth_token)
        self._account_sid = account_sid
        self._to = to
        self._senders = itertools.cycle(senders)
        self._counter = itertools.count(1)

    def requests(self, url: str, count: int) -> list[SignedRequest]:
        """`count` webhooks signed for `url`, each with a new MessageSid."""
        return [self._one(url) for _ in range(count)]

    def _one(self, url: str) -> SignedRequest:
        sender, n = next(self._senders), next(self._counter)
        params = {
            "MessageSid": "SM" + uuid.uuid4().hex, "SmsMessageSid": "", "AccountSid":
            self._account_sid, "From": f"whatsapp:{sender}", "To": self._to,
            "Body": f"benchmark message {n}", "NumMedia": "0", "NumSegments": "1",
            "MessageType": "text", "ProfileName": "Bench", "WaId": sender.lstrip("+"),
            "SmsStatus": "received", "ApiVersion": "2010-04-01",
        }  # fmt: skip
        params["SmsMessageSid"] = params["MessageSid"]
        headers = {
            "Content-Type": FORM,
            "X-Twilio-Signature": self._validator.compute_signature(url, params),
            "User-Agent": "TwilioProxy/1.1",
        }
        return SignedRequest(urlencode(params).encode(), headers)


async def _send(client: httpx.AsyncClient, url: str, request: SignedRequest) -> httpx.Response:
    return await client.post(url, content=request.body, headers=request.headers)


@contextlib.contextmanager
def no_collector_pauses() -> Iterator[None]:
    """While a phase is timed, the generator's own cyclic collector stays off; it
    collects once afterwards. Its full collections stopped this process for 90–294 ms
    (the requests built for every run make a large heap), and the requests due meanwhile
    left late: counted from when they were due, that was the *server's* p99 (bench/RESULTS.md,
    sixth pass). A phase makes little cyclic garbage; reference counting frees the rest."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
        gc.collect()


async def closed_loop(
    client: httpx.AsyncClient, url: str, requests: Iterable[SignedRequest], concurrency: int
) -> Sample:
    """Send every request with `concurrency` in flight at most; the throughput sample."""
    sample, pending = Sample(), iter(requests)

    async def worker() -> None:
        for request in pending:  # one shared iterator: each request goes once
            started = time.perf_counter()
            try:
                sample.record(started, await _send(client, url, request))
            except httpx.HTTPError as exc:
                sample.record(started, exc)

    cpu, started = time.process_time(), time.perf_counter()
    with no_collector_pauses():  # its collection afterwards is not timed
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        sample.seconds = time.perf_counter() - started
        sample.client_cpu = (time.process_time() - cpu) / sample.seconds
    return sample


async def open_loop(
    client: httpx.AsyncClient, url: str, requests: Sequence[SignedRequest], rate: float
) -> Sample:
    """Send request i at i/`rate` seconds; latency counts from when each was due."""
    sample = Sample()

    async def one(request: SignedRequest, due: float) -> None:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        try:
            sample.record(due, await _send(client, url, request))
        except httpx.HTTPError as exc:
            sample.record(due, exc)

    cpu, started = time.process_time(), time.perf_counter() + 0.05
    tasks = [one(request, started + i / rate) for i, request in enumerate(requests)]
    with no_collector_pauses():
        await asyncio.gather(*tasks)
        sample.seconds = time.perf_counter() - started
        sample.client_cpu = (time.process_time() - cpu) / sample.seconds
    return sample

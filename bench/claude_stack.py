"""The real stack for the turn and visuals benchmarks, with clocks on the Anthropic stand-in.

Phone simulator and relay run in this process (as in `tests/relay/conftest.py`), the
relay starts a local `cockpit host` subprocess for Ada, and that host runs the real
Claude Code CLI against `TimedFake`: the scripted stand-in of `tests/fakes/anthropic.py`
that also notes when each request arrived and when its answer was fully sent.
Every timestamp is `time.time()` (or a `datetime` of the same clock) on this machine,
so times taken in different processes can be subtracted.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from bench.processes import clean_env
from cockpit.channels.simulator import SimMessage
from cockpit.provision.base import host_token
from cockpit.store.migrate import upgrade
from tests.fakes.anthropic import AnthropicFake, is_side_request
from tests.live import serve, wait_until
from tests.relay.conftest import ADA, Stack, claude_overrides, host_answers, running_stack

HOST_START_TIMEOUT = 180.0  # the first host start imports a lot on a busy two-core machine
ADA_DIGITS = ADA.lstrip("+")
_OUR_PREFIXES = ("COCKPIT_", "TWILIO_", "ANTHROPIC_")

Event = dict[str, Any]


@dataclass(frozen=True)
class Exchange:
    """One model request at the stand-in: when it arrived, when its answer was fully sent."""

    arrived: float
    finished: float | None
    side: bool  # a side request (no tools offered: a title, a quota check)


class TimedFake(AnthropicFake):
    """The scripted Anthropic stand-in, also timing every request it answers."""

    def __init__(self) -> None:
        super().__init__()
        self.exchanges: list[Exchange] = []

    async def messages(self, request: Request) -> Response:
        """Answer as the stand-in does; note the arrival and the end of the answer."""
        arrived = time.time()
        body = await request.json()  # Starlette caches it: the stand-in reads it again
        index = len(self.exchanges)
        self.exchanges.append(Exchange(arrived, None, is_side_request(body)))
        response = await super().messages(request)
        if isinstance(response, StreamingResponse):
            response.body_iterator = self._stamped(response.body_iterator, index)
        else:
            self._finish(index)
        return response

    async def _stamped(self, chunks: AsyncIterable[Any], index: int) -> AsyncIterator[Any]:
        async for chunk in chunks:
            yield chunk
        self._finish(index)  # after the last chunk went out: the CLI has the whole answer

    def _finish(self, index: int) -> None:
        old = self.exchanges[index]
        self.exchanges[index] = Exchange(old.arrived, time.time(), old.side)


@dataclass
class ClaudeStack:
    """Simulator + relay in this process, Ada's local host, the timed stand-in."""

    stack: Stack
    fake: TimedFake
    host_url: str
    host_token: str

    @property
    def workspace(self) -> Path:
        """Ada's workspace: the git repository Claude works in."""
        return (self.stack.settings.data_dir / "workspaces" / ADA_DIGITS).resolve()

    def send(self, text: str) -> SimMessage:
        """Send `text` from Ada's phone; the simulator's record of it (its webhook time)."""
        sid = self.stack.send(text)["sid"]
        message = self.stack.sim.state.get(sid)
        assert message is not None
        return message

    def received_since(self, count: int) -> list[SimMessage]:
        """Messages the phone received after the first `count`."""
        return self.stack.received()[count:]

    def wait_message(
        self, start: int, match: Callable[[SimMessage], bool], timeout: float = 120
    ) -> SimMessage:
        """The first message after the first `start` received that `match` accepts."""
        found: list[SimMessage] = []

        def seen() -> bool:
            found[:] = [m for m in self.received_since(start) if match(m)]
            return bool(found)

        wait_until(seen, timeout=timeout, interval=0.005)
        return found[0]

    def host_events(
        self, after: int, stop: Callable[[Event], bool], timeout: float = 30
    ) -> list[Event]:
        """The host's events after sequence number `after`, up to the first that `stop` accepts."""
        headers = {"Authorization": f"Bearer {self.host_token}"}
        url = f"{self.host_url}/events"
        events: list[Event] = []
        with httpx.stream(
            "GET", url, params={"after": after}, headers=headers, timeout=timeout
        ) as r:
            r.raise_for_status()
            for line in r.iter_lines():
                if line.startswith("data:"):
                    events.append(json.loads(line.removeprefix("data:").strip()))
                    if stop(events[-1]):
                        return events
        raise RuntimeError(f"the host's event stream ended before the awaited event: {events}")


@contextmanager
def scrubbed_environment() -> Iterator[None]:
    """No cockpit/Twilio/Anthropic setting of this shell leaks into the stack; restored after."""
    saved = {k: v for k, v in os.environ.items() if k.startswith(_OUR_PREFIXES)}
    for name in saved:
        del os.environ[name]
    try:
        yield
    finally:
        os.environ.update(saved)


@contextmanager
def claude_stack(workdir: Path, **overrides: Any) -> Iterator[ClaudeStack]:
    """The whole stack on loopback, in `workdir`, once Ada's host answers."""
    fake = TimedFake()
    with scrubbed_environment(), serve(fake.app()) as fake_url:
        fake.url = fake_url
        db_url = f"sqlite:///{workdir / 'cockpit.db'}"
        upgrade(db_url)
        settings = claude_overrides(fake) | overrides
        with running_stack(db_url, workdir / "data", **settings) as stack:
            host_dir = workdir / "data" / "hosts" / ADA_DIGITS
            wait_until(lambda: host_answers(host_dir), timeout=HOST_START_TIMEOUT, interval=0.2)
            port = json.loads((host_dir / "host.pid").read_text())["port"]
            secret = stack.settings.secret_key
            assert secret is not None
            token = host_token(secret.get_secret_value(), ADA)
            yield ClaudeStack(stack, fake, f"http://127.0.0.1:{port}", token)


def is_done(message: SimMessage) -> bool:
    """The relay's closing line of a turn: "✅ Done · …", on its own or joined to the answer
    (after "[session] " when several sessions are in use)."""
    for line in message.body.splitlines():
        if line.startswith("[") and "] " in line:
            line = line.split("] ", 1)[1]
        if line.startswith("✅ Done"):
            return True
    return False


def stamp(message: SimMessage) -> float:
    """When the simulator recorded `message` (its Messages API got the request), epoch s."""
    return message.date_created.timestamp()


@dataclass(frozen=True)
class BareRun:
    """The bare CLI's clock readings (epoch s): spawned, first request, result line, exit."""

    spawned: float
    first_request: float
    result_line: float
    exited: float
    cli_ms: float


def claude_binary() -> Path:
    """The Claude Code CLI bundled with claude-agent-sdk (what the host runs)."""
    import claude_agent_sdk

    return Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"


def bare_cli(cs: ClaudeStack, workdir: Path, prompt: str) -> BareRun:
    """Run `claude -p PROMPT` directly (no relay, no host, no SDK) against the same stand-in."""
    home, repo = workdir / "bare-home", workdir / "bare-repo"
    home.mkdir(exist_ok=True)
    repo.mkdir(exist_ok=True)
    env = clean_env(
        {"ANTHROPIC_API_KEY": "sk-test", "ANTHROPIC_BASE_URL": cs.fake.url, "HOME": str(home),
         "DISABLE_TELEMETRY": "1", "DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_MAX_RETRIES": "0",
         "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}
    )  # fmt: skip
    first = len(cs.fake.exchanges)
    args = [str(claude_binary()), "-p", prompt, "--output-format", "stream-json", "--verbose"]
    spawned = time.time()
    with subprocess.Popen(args, cwd=repo, env=env, stdout=subprocess.PIPE, text=True) as proc:
        result_line, cli_ms = _read_result(proc)
        exited = time.time()
    if proc.returncode != 0 or not any(x.arrived >= spawned for x in cs.fake.exchanges[first:]):
        raise RuntimeError(f"the bare CLI failed (exit {proc.returncode})")
    arrived = next(x.arrived for x in cs.fake.exchanges[first:] if x.arrived >= spawned)
    return BareRun(spawned, arrived, result_line, exited, cli_ms)


def _read_result(proc: subprocess.Popen[str]) -> tuple[float, float]:
    """Read the CLI's stream-json until it exits: when its `result` line came, its duration_ms."""
    assert proc.stdout is not None
    seen: tuple[float, float] | None = None
    for line in proc.stdout:
        if line.startswith("{") and json.loads(line).get("type") == "result":
            seen = (time.time(), float(json.loads(line)["duration_ms"]))
    proc.wait(timeout=60)
    if seen is None:
        raise RuntimeError("the bare CLI printed no result")
    return seen

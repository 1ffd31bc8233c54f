"""The relay process killed with SIGKILL mid-reply: after a restart, the reply goes once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from cockpit.channels.simulator import PhoneSimulator, create_simulator_app
from cockpit.store import outbox, users
from cockpit.store.db import Database
from tests.fakes.anthropic import AnthropicFake, has_tool_result, say, slow, tool
from tests.live import bound_socket, free_port, serve, wait_until
from tests.relay.conftest import ACCOUNT_SID, ADA, AUTH_TOKEN, FROM, make_simulator, settled
from tests.requirements import require_claude_cli

pytestmark = pytest.mark.slow


class RelayProcess:
    """`cockpit relay` as a child process on a fixed port."""

    def __init__(self, env: dict[str, str], port: int, log: Path):
        self.env, self.port, self.log = env, port, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "cockpit", "relay", "--port", str(self.port)],
                env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_until(self._healthy, timeout=30)

    def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"relay exited: {self.log.read_text()[-2000:]}")
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz").status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def relay_env(db_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment of a relay child process that talks to an in-test simulator."""
    database = Database(db_url)
    users.add_user(database, ADA, "Ada")
    database.dispose()
    return dict(os.environ) | {
        "COCKPIT_DATABASE_URL": db_url, "COCKPIT_DATA_DIR": str(tmp_path / "data"),
        "COCKPIT_SECRET_KEY": "test-secret", "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_WHATSAPP_FROM": FROM,
        "COCKPIT_SEND_LEASE_SECONDS": "2", "COCKPIT_SEND_TIMEOUT_SECONDS": "30",
        "COCKPIT_INBOX_LEASE_SECONDS": "2",
        "COCKPIT_POLL_SECONDS": "0.1", "COCKPIT_RETRY_BASE_SECONDS": "0.05",
        "COCKPIT_AGENT": "echo", "COCKPIT_HOST_LEASE_SECONDS": "2",
    }  # fmt: skip


@contextmanager
def relay_and_simulator(
    relay_env: dict[str, str], tmp_path: Path, extra: dict[str, str] | None = None
) -> Iterator[tuple[RelayProcess, PhoneSimulator, str]]:
    """A relay child process and the in-test simulator it sends to."""
    port = free_port()
    relay_url = f"http://127.0.0.1:{port}"
    sim = make_simulator(relay_url)
    sim_sock = bound_socket()
    sim_url = f"http://127.0.0.1:{sim_sock.getsockname()[1]}"
    env = relay_env | {"COCKPIT_PUBLIC_URL": relay_url, "TWILIO_API_BASE_URL": sim_url}
    relay = RelayProcess(env | (extra or {}), port, tmp_path / "relay.log")
    with serve(create_simulator_app(sim), sim_sock):
        relay.start()
        try:
            yield relay, sim, sim_url
        finally:
            relay.stop()
            sim.release()


@pytest.fixture
def killable(
    relay_env: dict[str, str], tmp_path: Path
) -> Iterator[tuple[RelayProcess, PhoneSimulator, str]]:
    """A relay child process with the echo agent, and its simulator."""
    with relay_and_simulator(relay_env, tmp_path) as parts:
        yield parts


def _send(sim_url: str, body: str) -> int:
    reply = httpx.post(f"{sim_url}/phone/api/send", json={"from": ADA, "body": body}, timeout=10)
    return int(reply.json()["relay_status"])


def _phone(sim: PhoneSimulator) -> list[str]:
    return [m.body for m in sim.messages(ADA) if m.direction != "inbound"]


def test_killed_after_twilio_took_the_reply_it_is_not_sent_again(
    killable: tuple[RelayProcess, PhoneSimulator, str], db_url: str
) -> None:
    """Killed while Twilio holds the reply's answer, the restarted relay finds it, sends none."""
    relay, sim, sim_url = killable
    sim.faults.accept_then_hang_next, sim.faults.hang_seconds = 1, 60
    sim.faults.drop_callbacks = 3
    assert _send(sim_url, "survive the crash") == 200
    wait_until(lambda: len(sim.attempts) == 1)
    relay.kill()
    relay.start()
    database = Database(db_url)
    wait_until(lambda: outbox.for_recipient(database, ADA)[0].provider_sid, timeout=20)
    wait_until(lambda: settled(database))  # a second send would have happened by now
    database.dispose()
    assert _phone(sim) == ["survive the crash"]
    assert len(sim.attempts) == 1


def test_killed_before_the_reply_reached_twilio_it_is_sent_once(
    killable: tuple[RelayProcess, PhoneSimulator, str], db_url: str
) -> None:
    """Killed while the reply's request hangs unrecorded, the restarted relay sends it once."""
    relay, sim, sim_url = killable
    sim.faults.hang_next, sim.faults.hang_seconds = 1, 60
    assert _send(sim_url, "acknowledged, then killed") == 200
    wait_until(lambda: len(sim.attempts) == 1)
    relay.kill()
    sim.release()
    relay.start()
    wait_until(lambda: _phone(sim), timeout=20)
    database = Database(db_url)
    wait_until(lambda: settled(database))  # a second send would have happened by now
    database.dispose()
    assert _phone(sim) == ["acknowledged, then killed"]


@pytest.mark.claude
def test_killed_mid_turn_every_host_event_reaches_the_phone_once(
    relay_env: dict[str, str], tmp_path: Path, anthropic_fake: AnthropicFake
) -> None:
    """SIGKILL while Claude works: after a restart the turn finishes and nothing repeats."""
    require_claude_cli()
    workspace = tmp_path / "data" / "workspaces" / "15551230001"
    anthropic_fake.script(
        [
            tool("Write", {"file_path": str(workspace / "a.txt"), "content": "a"}),
            slow(6.0, say("Finished after the crash."), when=has_tool_result),
        ]
    )
    extra = {
        "COCKPIT_AGENT": "claude",
        "ANTHROPIC_API_KEY": "sk-test",
        "ANTHROPIC_BASE_URL": anthropic_fake.url,
        "COCKPIT_CLAUDE_MAX_RETRIES": "0",
    }
    with relay_and_simulator(relay_env, tmp_path, extra) as (relay, sim, sim_url):
        assert _send(sim_url, "write a.txt, then think") == 200
        wait_until(lambda: len(_phone(sim)) >= 1, timeout=60)  # the progress line
        relay.kill()
        relay.start()
        wait_until(lambda: any("✅ Done" in b for b in _phone(sim)), timeout=60)
        database = Database(relay_env["COCKPIT_DATABASE_URL"])
        wait_until(lambda: settled(database))  # a repeated event would have been sent by now
        database.dispose()
        bodies = _phone(sim)
    assert bodies[0].startswith("✏️")  # typing… instead of "👀 on it"
    (answer,) = [b for b in bodies if b.startswith("Finished after the crash.")]
    assert "✅ Done" in answer  # the ✅ line joined the answer, once
    assert len(bodies) == len(set(bodies))  # nothing twice

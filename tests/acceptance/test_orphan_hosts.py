"""Local hosts of a `cockpit up` killed with SIGKILL: they exit, or a new relay adopts them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from cockpit.provision.pidfile import process_alive
from tests.live import free_port, wait_until

pytestmark = pytest.mark.slow

ORPHAN_SECONDS = 3  # the first test's; a relay restarting on a loaded machine needs longer


def _host_dir(folder: Path) -> Path:
    return folder / ".cockpit" / "hosts" / "15550001111"


def _host_pid(folder: Path) -> int | None:
    """The pid of the demo user's host that `host.pid` names, while it answers /health."""
    try:
        record = json.loads((_host_dir(folder) / "host.pid").read_text())
        response = httpx.get(f"http://127.0.0.1:{record['port']}/health", timeout=2)
    except (OSError, ValueError, httpx.TransportError):
        return None
    return int(record["pid"]) if response.status_code == 200 else None


def _live_in_group(pgid: int) -> list[int]:
    """The processes of group `pgid` that still run (zombies awaiting init do not)."""
    live = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            live.append(int(stat.parent.name))
    return live


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("COCKPIT_", "TWILIO_"))}


@contextmanager
def _cockpit_up(folder: Path, orphan: float = ORPHAN_SECONDS) -> Iterator[subprocess.Popen[bytes]]:
    """`cockpit up` (Claude agent, so a local host starts) until its host answers."""
    env = _clean_env() | {"COCKPIT_LOCAL_HOST_ORPHAN_SECONDS": str(orphan)}
    log = (folder / "up.log").open("ab")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cockpit", "up", "--port", str(port)],
        cwd=folder, stdout=log, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip

    def ready() -> bool:
        assert proc.poll() is None, (folder / "up.log").read_text()[-3000:]
        return _answers(f"http://127.0.0.1:{port}/healthz") and _host_pid(folder) is not None

    try:
        wait_until(ready, timeout=90, interval=0.2)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
        log.close()


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    """An empty folder; any host left on it is killed afterwards, even when a test failed."""
    yield tmp_path
    pid = _host_pid(tmp_path)
    if pid is not None:
        os.killpg(pid, signal.SIGKILL)


def test_the_host_of_a_killed_cockpit_up_exits_by_itself(folder: Path) -> None:
    """SIGKILL on `cockpit up` leaves its host running; it exits once the relay stays away."""
    with _cockpit_up(folder) as up:
        host = _host_pid(folder)
        assert host is not None
        up.kill()
        up.wait()
        assert process_alive(host)  # it outlived the relay, as decision 0006 wants
        wait_until(lambda: not process_alive(host), timeout=ORPHAN_SECONDS + 30, interval=0.2)
    assert _live_in_group(host) == []  # nothing of its group (Claude Code, Chromium) is left
    assert "host.orphaned" in (_host_dir(folder) / "host.log").read_text()


def test_a_restarted_cockpit_up_adopts_the_host_and_stops_it(folder: Path) -> None:
    """A new `cockpit up` adopts the host the killed one left (same process), and stops it
    when it stops itself."""
    with _cockpit_up(folder, orphan=120) as first:
        host = _host_pid(folder)
        first.kill()
        first.wait()
    assert host is not None
    with _cockpit_up(folder, orphan=120):
        wait_until(lambda: "host.adopted" in (folder / "up.log").read_text(), timeout=60)
        assert _host_pid(folder) == host
    wait_until(lambda: not process_alive(host), timeout=15)


def test_a_host_in_touch_with_its_relay_stays(tmp_path: Path) -> None:
    """While a relay holds its event stream open a host stays past the orphan delay; once
    the stream closes and nothing else calls, it exits."""
    env = _clean_env() | {
        "COCKPIT_HOST_TOKEN": "t0ken", "COCKPIT_DATA_DIR": str(tmp_path),
        "COCKPIT_HOST_ORPHAN_SECONDS": "2", "COCKPIT_AGENT": "claude",
    }  # fmt: skip
    port = free_port()
    host = subprocess.Popen(
        [sys.executable, "-m", "cockpit", "host", "--port", str(port)], cwd=tmp_path, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url, auth = f"http://127.0.0.1:{port}", {"Authorization": "Bearer t0ken"}
    try:
        wait_until(lambda: _answers(f"{url}/health"), timeout=60, interval=0.2)
        with httpx.stream("GET", f"{url}/events", headers=auth, timeout=30) as events:
            assert events.status_code == 200
            time.sleep(5)  # longer than the orphan delay: the open stream keeps it
            assert host.poll() is None
        host.wait(timeout=30)
    finally:
        if host.poll() is None:
            os.killpg(host.pid, signal.SIGKILL)
            host.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False

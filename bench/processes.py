"""Servers in their own processes, so the load generator never shares a GIL with them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

START_TIMEOUT = 60.0  # seconds; imports are slow on a busy two-core machine
STOP_TIMEOUT = 15.0
_OUR_PREFIXES = ("COCKPIT_", "TWILIO_", "ANTHROPIC_")
ROOT = Path(__file__).resolve().parent.parent  # so `python -m bench.servers` imports from anywhere


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(settings: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without any cockpit/Twilio/Anthropic setting, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OUR_PREFIXES)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env | dict(settings)


@contextmanager
def server(
    args: list[str], *, ready_url: str, log_path: Path, cwd: Path, env: Mapping[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `python ARGS` until the block ends; ready once `ready_url` answers 200."""
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, *args], cwd=cwd, env=dict(env), stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_ready(proc, ready_url, log_path)
        yield proc
    finally:
        _stop(proc)


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log_tail(log_path)}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not ready at {url} within {START_TIMEOUT:.0f} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()  # uvicorn shuts down gracefully on SIGTERM
    try:
        proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def log_tail(path: Path, lines: int = 20) -> str:
    """The last `lines` lines of a server's log, to explain a failure."""
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

"""`cockpit relay` keeps idle connections open longer than its clients do (decision 0023).

uvicorn's default keep-alive (5 s) equals httpx's idle expiry: a client that reuses a
connection just as the server closes it gets a reset, and a webhook is lost.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.live import free_port, wait_until

CLIENT_IDLE_SECONDS = 6.0  # past uvicorn's default keep-alive and httpx's idle expiry (5 s)


def _get(sock: socket.socket) -> bytes:
    """One request on `sock`; its whole answer (head and body), so the next starts clean."""
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            return answer
        answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
         if line.lower().startswith(b"content-length:")),
        0,
    )  # fmt: skip
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            break
        body += chunk
    return answer


def test_an_idle_keep_alive_connection_still_takes_a_request(tmp_path: Path) -> None:
    """A connection left idle for 6 s is still open: the next request on it is answered."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COCKPIT_", "TWILIO_"))}
    env |= {
        "COCKPIT_PUBLIC_URL": "https://relay.test", "COCKPIT_SECRET_KEY": "k" * 32,
        "COCKPIT_AGENT": "echo", "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "TWILIO_AUTH_TOKEN": "t" * 32, "TWILIO_WHATSAPP_FROM": "+14155238886",
    }  # fmt: skip
    subprocess.run([sys.executable, "-m", "cockpit", "db", "upgrade"], cwd=tmp_path, env=env,
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    relay = subprocess.Popen(
        [sys.executable, "-m", "cockpit", "relay", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until(lambda: _answers(port), timeout=60)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            assert _get(sock).startswith(b"HTTP/1.1 200")
            time.sleep(CLIENT_IDLE_SECONDS)
            assert _get(sock).startswith(b"HTTP/1.1 200")
    finally:
        relay.terminate()
        relay.wait(timeout=30)


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False

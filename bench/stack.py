"""The servers of one webhook benchmark: relay, bare baseline and phone simulator.

Each runs in its own process on 127.0.0.1. The relay is the production command
(`python -m cockpit relay`) with the echo agent: every accepted message is
dispatched, answered with one echo reply sent to the simulator (the stand-in for
Twilio's Messages API), which posts three status callbacks back to the relay.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.load import SignedRequest, WebhookSigner
from bench.processes import clean_env, free_port, server

ACCOUNT_SID = "AC" + "b" * 32
WHATSAPP_FROM = "whatsapp:+14155238886"
WEBHOOK_PATH = "/twilio/messages"
TARGETS = ("bare", "relay")


def sender_phones(count: int) -> list[str]:
    """The registered users' numbers the webhooks come from, round-robin."""
    return [f"+1555010{i:04d}" for i in range(count)]


@dataclass(frozen=True)
class Stack:
    """Where the servers listen, and how to make requests they accept."""

    urls: dict[str, str]  # "bare" / "relay" / "simulator" -> base URL
    signer: WebhookSigner
    pids: dict[str, int] = field(default_factory=dict)  # the same names -> process id
    auth_token: str = ""  # the simulated Twilio account's token
    relay_env: dict[str, str] = field(default_factory=dict)  # to start more relays alike
    workdir: Path | None = None

    def webhook_url(self, target: str) -> str:
        """The inbound-message webhook of `target` ("bare" or "relay")."""
        return f"{self.urls[target]}{WEBHOOK_PATH}"

    def requests(self, target: str, count: int) -> list[SignedRequest]:
        """`count` new webhooks signed for `target`."""
        return self.signer.requests(self.webhook_url(target), count)


# `cockpit relay` serves /metrics only with its token (docs/security.md).
METRICS_TOKEN = secrets.token_urlsafe(16)
METRICS_AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def _relay_env(db_url: str, workdir: Path, urls: dict[str, str], token: str) -> dict[str, str]:
    return clean_env(
        {
            "COCKPIT_DATABASE_URL": db_url,
            "COCKPIT_DATA_DIR": str(workdir / "data"),
            "COCKPIT_PUBLIC_URL": urls["relay"],
            "COCKPIT_SECRET_KEY": secrets.token_urlsafe(24),
            "COCKPIT_AGENT": "echo",
            "COCKPIT_METRICS_TOKEN": METRICS_TOKEN,
            "COCKPIT_LOG_LEVEL": "INFO",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": token,
            "TWILIO_WHATSAPP_FROM": WHATSAPP_FROM,
            "TWILIO_API_BASE_URL": urls["simulator"],
        }
    )


def _start(stack: ExitStack, workdir: Path, name: str, args: list[str], env: dict[str, str]) -> int:
    """Start server `name` (on the port after `--port`) within `stack`; its process id."""
    url = f"http://127.0.0.1:{args[args.index('--port') + 1]}"
    log_path = workdir / f"{name}.log"
    proc = stack.enter_context(
        server(args, ready_url=f"{url}/healthz", log_path=log_path, cwd=workdir, env=env)
    )
    return proc.pid


@contextmanager
def running_stack(
    db_url: str, workdir: Path, senders: list[str], relay_env: dict[str, str] | None = None
) -> Iterator[Stack]:
    """Start the simulator, the relay on `db_url` (plus `relay_env` settings) and the bare
    endpoint; stop them after."""
    token = secrets.token_hex(16)
    port = {name: str(free_port()) for name in ("simulator", "relay", "bare")}
    urls = {name: f"http://127.0.0.1:{p}" for name, p in port.items()}
    pids: dict[str, int] = {}
    with ExitStack() as stack:
        pids["simulator"] = _start(stack, workdir, "simulator", [
            "-m", "bench.servers", "simulator", "--port", port["simulator"],
            "--auth-token", token, "--account-sid", ACCOUNT_SID,
            "--whatsapp-from", WHATSAPP_FROM, "--relay-url", urls["relay"],
        ], clean_env({}))  # fmt: skip
        relay_args = ["-m", "cockpit", "relay", "--port", port["relay"]]
        env = _relay_env(db_url, workdir, urls, token) | (relay_env or {})
        pids["relay"] = _start(stack, workdir, "relay", relay_args, env)
        pids["bare"] = _start(stack, workdir, "bare", [
            "-m", "bench.servers", "bare", "--port", port["bare"], "--auth-token", token,
            "--public-url", urls["bare"],
        ], clean_env({}))  # fmt: skip
        signer = WebhookSigner(
            auth_token=token, account_sid=ACCOUNT_SID, to=WHATSAPP_FROM, senders=senders
        )
        yield Stack(urls, signer, pids, token, env, workdir)

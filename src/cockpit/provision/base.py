"""The `Provisioner` port: where each user's agent host runs and how to reach it."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

HostState = Literal["running", "starting", "stopped", "failed", "absent"]


@dataclass(frozen=True)
class HostSpec:
    """What a user's host needs: who, where their code is, and its environment."""

    user_id: int
    phone: str
    token: str
    workspace: Path | None = None
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HostEndpoint:
    """How the relay reaches a host."""

    url: str
    token: str


class Provisioner(Protocol):
    """Creates and runs one agent host per user. Every method is idempotent."""

    async def create(self, spec: HostSpec) -> HostEndpoint:
        """Make the user's host exist and run; reuse it if it already does."""
        ...

    async def start(self, user_id: int) -> None:
        """Start a stopped host."""
        ...

    async def stop(self, user_id: int) -> None:
        """Stop a host, keeping its workspace."""
        ...

    async def destroy(self, user_id: int) -> None:
        """Remove a host (its workspace volume too, for containers)."""
        ...

    async def status(self, user_id: int) -> HostState:
        """The host's state."""
        ...

    async def endpoint(self, user_id: int) -> HostEndpoint | None:
        """Where the host listens, if it exists."""
        ...

    async def aclose(self) -> None:
        """Stop supervising (local hosts are stopped; containers keep running)."""
        ...


def host_token(secret_key: str, phone: str) -> str:
    """The bearer token of a user's host, derived from the relay's secret key."""
    digest = hmac.new(secret_key.encode(), f"cockpit-host:{phone}".encode(), hashlib.sha256)
    return digest.hexdigest()

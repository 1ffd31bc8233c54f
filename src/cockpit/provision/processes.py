"""Handles on a local host's process: one this relay spawned, or one it adopted.

Both kinds answer the same questions (pid, still running?, wait until it ends,
terminate it with its process group), so the local provisioner supervises, stops
and reports an adopted host exactly like one it started itself. A spawned host is
our child and `wait()` reaps it; an adopted one belongs to no one here, so its
`wait()` polls the pid and the host's `/health` about once a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from typing import Protocol

import httpx

from cockpit.log import get_logger
from cockpit.provision.pidfile import process_alive

log = get_logger(__name__)

TERM_GRACE_SECONDS = 5.0
POLL_SECONDS = 1.0
# An adopted host that has not answered /health for this many polls in a row is wedged:
# it is ended and started afresh, as if it had died.
_UNHEALTHY_POLLS = 15


class HostProcess(Protocol):
    """A running (or ended) local host process."""

    @property
    def pid(self) -> int:
        """Its process id (also its process group id)."""
        ...

    @property
    def running(self) -> bool:
        """True until the process has ended."""
        ...

    @property
    def returncode(self) -> int | None:
        """Its exit code when known (never for an adopted host)."""
        ...

    async def wait(self) -> None:
        """Return once the process has ended."""
        ...

    async def terminate(self) -> None:
        """SIGTERM its process group, SIGKILL it after 5 s; return once it has ended."""
        ...


class SpawnedProcess:
    """A host this relay started: an asyncio child process in its own session."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process.returncode is None

    @property
    def returncode(self) -> int | None:
        return self._process.returncode

    async def wait(self) -> None:
        await self._process.wait()

    async def terminate(self) -> None:
        if self._process.returncode is None:
            signal_group(self.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(self._process.wait(), TERM_GRACE_SECONDS)
            except TimeoutError:
                signal_group(self.pid, signal.SIGKILL)
                await self._process.wait()
        signal_group(self.pid, signal.SIGKILL)  # Claude Code processes the host left behind


class AdoptedProcess:
    """A host an earlier relay started and left running; this relay only knows its pid."""

    def __init__(self, pid: int, url: str, token: str) -> None:
        self._pid = pid
        self._url = url
        self._token = token
        # start_new_session made the host its group's leader; if not, spare the group.
        self._leader = _pgid(pid) == pid

    @property
    def pid(self) -> int:
        return self._pid

    @property
    def running(self) -> bool:
        return process_alive(self._pid)

    @property
    def returncode(self) -> int | None:
        return None

    async def wait(self) -> None:
        misses = 0
        async with httpx.AsyncClient(timeout=2.0) as client:
            while self.running:
                await asyncio.sleep(POLL_SECONDS)
                misses = 0 if await authorized(client, self._url, self._token) else misses + 1
                if misses >= _UNHEALTHY_POLLS and self.running:
                    log.warning("host.adopted_unresponsive", pid=self._pid)
                    await self.terminate()

    async def terminate(self) -> None:
        await terminate_pid(self._pid, group=self._leader)


async def terminate_pid(pid: int, *, group: bool = True) -> None:
    """End a process that is not our child (SIGTERM, SIGKILL after 5 s) and wait for it."""
    send = signal_group if group else _signal_pid
    send(pid, signal.SIGTERM)
    send(pid, signal.SIGCONT)  # a stopped (SIGSTOP) host must wake up to handle the SIGTERM
    if not await _gone_within(pid, TERM_GRACE_SECONDS):
        send(pid, signal.SIGKILL)
        if not await _gone_within(pid, TERM_GRACE_SECONDS):
            log.error("host.unkillable", pid=pid)
    if group:
        signal_group(pid, signal.SIGKILL)


async def authorized(client: httpx.AsyncClient, url: str, token: str) -> bool:
    """True when the host at `url` answers /health in full to `token` (it is that host)."""
    try:
        response = await client.get(f"{url}/health", headers={"Authorization": f"Bearer {token}"})
    except httpx.TransportError:
        return False
    if response.status_code != 200:
        return False
    # Without the right token /health says only {"state": ...}; with it, much more.
    with contextlib.suppress(ValueError):
        body = response.json()
        return isinstance(body, dict) and len(body.keys() - {"state"}) > 0
    return False


async def answers_within(url: str, token: str, within: float) -> bool:
    """Poll `authorized` for up to `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    async with httpx.AsyncClient(timeout=2.0) as client:
        while not await authorized(client, url, token):
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.2)
    return True


def signal_group(pgid: int, sig: signal.Signals) -> None:
    """Signal a process group, ignoring one that is already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _signal_pid(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except (ProcessLookupError, PermissionError):
        return None


async def _gone_within(pid: int, seconds: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while process_alive(pid):
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.05)
    return True

"""Local hosts: one `cockpit host` subprocess per user, supervised and restarted.

Each host gets its own folder `COCKPIT_DATA_DIR/hosts/<digits>/` (database, home,
`host.log`), listens on 127.0.0.1 on a port chosen here, and runs in its own
process group so that stopping it also stops the Claude Code processes it started.
A supervisor task per host restarts a host that died, with backoff (1 s, 2 s,
4 s … 30 s), and tells the relay through `on_restart`.

A host outlives a relay killed with SIGKILL (a Claude turn may be in progress), so
each spawn is recorded in `<data dir>/host.pid`. Before starting a host, the
provisioner looks there: a live `cockpit host` on that data dir with the user's
token that answers `/health` is adopted (same port, no new process) and supervised
by polling; any other host process on that data dir is terminated first. Two hosts
never share a data dir. A host whose relay stays away for
COCKPIT_LOCAL_HOST_ORPHAN_SECONDS exits by itself (`cockpit.host.orphan`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from cockpit.config import Settings
from cockpit.log import get_logger
from cockpit.provision.base import HostEndpoint, HostSpec, HostState
from cockpit.provision.errors import ProvisionError
from cockpit.provision.health import wait_healthy
from cockpit.provision.hostenv import free_port, host_env, local_workspace, phone_digits
from cockpit.provision.pidfile import (
    host_pids,
    is_host_of,
    read_pid_file,
    remove_pid_file,
    write_pid_file,
)
from cockpit.provision.processes import (
    AdoptedProcess,
    HostProcess,
    SpawnedProcess,
    answers_within,
    signal_group,
    terminate_pid,
)

log = get_logger(__name__)

OnRestart = Callable[[int], Awaitable[None]]
# A relay's own secrets and settings stay out of the host: Claude's shell could read them.
_PRIVATE_PREFIXES = ("COCKPIT_", "TWILIO_", "ANTHROPIC_")
_STABLE_SECONDS = 60.0  # a host that lived this long starts its backoff from 1 s again
_ADOPT_HEALTH_SECONDS = 5.0  # a recorded host must answer /health this soon to be adopted


@dataclass
class _Host:
    spec: HostSpec
    data_dir: Path
    workspace: Path
    port: int
    process: HostProcess | None = None
    supervisor: asyncio.Task[None] | None = None
    wanted: bool = True
    state: HostState = "starting"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.running


class LocalProvisioner:
    """Runs each user's host as a local subprocess (`cockpit up`, single-machine setups)."""

    def __init__(
        self,
        settings: Settings,
        *,
        python: str = sys.executable,
        on_restart: OnRestart | None = None,
        ready_timeout: float = 30.0,
        backoff_base: float = 1.0,
        backoff_cap: float = 30.0,
    ) -> None:
        self._settings = settings
        self._python = python
        self._on_restart = on_restart
        self._ready_timeout = ready_timeout
        self._backoff = (backoff_base, backoff_cap)
        self._hosts: dict[int, _Host] = {}
        self._lock = asyncio.Lock()

    async def create(self, spec: HostSpec) -> HostEndpoint:
        """Start the user's host, or return the one already running (or restarting)."""
        async with self._lock:
            host = self._hosts.get(spec.user_id)
            if host is None:
                self._refuse_second_user(spec.user_id)
                host = self._new_host(spec)
                try:
                    await self._run(host)
                except BaseException:
                    await self._halt(host)
                    raise
                self._hosts[spec.user_id] = host
            elif not host.wanted or host.supervisor is None:
                host.spec = spec  # a stopped host starts with the current keys (rotation)
                await self._run(host)
            return HostEndpoint(url=host.url, token=host.spec.token)

    async def start(self, user_id: int) -> None:
        """Start a stopped host again (same folders, same port if it is still free)."""
        async with self._lock:
            host = self._hosts.get(user_id)
            if host is None:
                raise ProvisionError(f"no local host for user {user_id}; create it first")
            if not host.wanted or host.supervisor is None:
                await self._run(host)

    async def stop(self, user_id: int) -> None:
        """Stop the user's host (SIGTERM, SIGKILL after 5 s); its folders stay."""
        async with self._lock:
            host = self._hosts.get(user_id)
            if host is not None:
                await self._halt(host)

    async def destroy(self, user_id: int) -> None:
        """Stop the host and delete its data folder and the workspace the relay made for it
        (a repository the operator named with `users add --repo` is never deleted)."""
        async with self._lock:
            host = self._hosts.pop(user_id, None)
            if host is not None:
                await self._halt(host)
                await asyncio.to_thread(shutil.rmtree, host.data_dir, True)
                if host.spec.workspace is None:  # COCKPIT_DATA_DIR/workspaces/<digits>
                    await asyncio.to_thread(shutil.rmtree, host.workspace, True)

    async def status(self, user_id: int) -> HostState:
        """running, starting, stopped, failed (died, restart pending) or absent."""
        host = self._hosts.get(user_id)
        return "absent" if host is None else host.state

    async def endpoint(self, user_id: int) -> HostEndpoint | None:
        """The host's current address (its port may change when it is restarted)."""
        host = self._hosts.get(user_id)
        return None if host is None else HostEndpoint(url=host.url, token=host.spec.token)

    def pid(self, user_id: int) -> int | None:
        """The process id of the user's running host, for diagnostics."""
        host = self._hosts.get(user_id)
        return host.process.pid if host is not None and host.process and host.alive else None

    async def aclose(self) -> None:
        """Stop supervising and stop every host."""
        async with self._lock:
            hosts = list(self._hosts.values())
            self._hosts.clear()
            await asyncio.gather(*(self._halt(host) for host in hosts))

    def _refuse_second_user(self, user_id: int) -> None:
        if self._hosts and not self._settings.allow_shared_host:
            raise ProvisionError(
                f"the local provisioner already runs a host for another user; refusing user "
                f"{user_id} (set COCKPIT_ALLOW_SHARED_HOST=true to run several on this machine)"
            )

    def _new_host(self, spec: HostSpec) -> _Host:
        data_dir = (self._settings.data_dir / "hosts" / phone_digits(spec.phone)).resolve()
        return _Host(spec, data_dir, local_workspace(self._settings, spec), port=0)

    async def _run(self, host: _Host) -> None:
        """Launch the host and hand it to a new supervisor task."""
        host.wanted = True
        await self._launch(host)
        host.supervisor = asyncio.create_task(self._supervise(host))

    async def _launch(self, host: _Host) -> None:
        """Adopt the host left running on its data dir, or spawn one and wait for /health.

        A spawned host that never answers is killed and `ProvisionError` raised.
        """
        host.state = "starting"
        if await self._adopt(host):
            host.state = "running"
            return
        host.port = free_port(host.port or None)
        host.data_dir.mkdir(parents=True, exist_ok=True)
        host.workspace.mkdir(parents=True, exist_ok=True)
        spawned = await self._spawn(host)
        host.process = SpawnedProcess(spawned)
        await asyncio.to_thread(
            write_pid_file, host.data_dir, spawned.pid, host.port, host.spec.token
        )
        log.info("host.spawned", user_id=host.spec.user_id, pid=spawned.pid, port=host.port)
        problem = await wait_healthy(host.url, self._ready_timeout, alive=lambda: host.alive)
        if problem is None:
            host.state = "running"
            return
        host.state = "failed"
        await host.process.terminate()
        await asyncio.to_thread(remove_pid_file, host.data_dir)
        tail = _log_tail(host.data_dir / "host.log")
        raise ProvisionError(
            f"the host of user {host.spec.user_id} did not start: {problem}.\n"
            f"Last lines of {host.data_dir / 'host.log'}:\n{tail}"
        )

    async def _adopt(self, host: _Host) -> bool:
        """Take over the recorded host if it is this user's and healthy; end any other one.

        Returns True when `host` now stands for the adopted process.
        """
        record = await asyncio.to_thread(read_pid_file, host.data_dir)
        keep: int | None = None
        if record is not None and await asyncio.to_thread(is_host_of, record.pid, host.data_dir):
            url = f"http://127.0.0.1:{record.port}"
            token = host.spec.token
            if record.token_matches(token) and await answers_within(
                url, token, _ADOPT_HEALTH_SECONDS
            ):
                keep = record.pid
                host.port = record.port
                host.process = AdoptedProcess(record.pid, url, token)
                log.info("host.adopted", user_id=host.spec.user_id, pid=keep, port=host.port)
        for pid in await asyncio.to_thread(host_pids, host.data_dir):
            if pid != keep:  # a host this relay cannot vouch for must not share the data dir
                log.warning("host.stray_terminated", user_id=host.spec.user_id, pid=pid)
                await terminate_pid(pid)
        if keep is None and record is not None:
            await asyncio.to_thread(remove_pid_file, host.data_dir)
        return keep is not None

    async def _spawn(self, host: _Host) -> asyncio.subprocess.Process:
        args = ["-m", "cockpit", "host", "--host", "127.0.0.1", "--port", str(host.port)]
        env = _inherited_env() | host_env(
            self._settings, host.spec, str(host.data_dir), str(host.workspace)
        )
        # A relay killed with SIGKILL cannot stop its hosts: they stop themselves.
        env["COCKPIT_HOST_ORPHAN_SECONDS"] = str(self._settings.local_host_orphan_seconds)
        # Opening a local file is quick; the child keeps its own copy of the descriptor.
        with open(host.data_dir / "host.log", "ab") as out:  # noqa: ASYNC230
            return await asyncio.create_subprocess_exec(
                self._python,
                *args,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=host.data_dir,  # not the relay's folder: its .env must not reach the host
                start_new_session=True,
            )

    async def _supervise(self, host: _Host) -> None:
        """Restart the host whenever it dies, until it is stopped on purpose."""
        failures = 0
        loop = asyncio.get_running_loop()
        while True:
            process = host.process
            assert process is not None
            began = loop.time()
            await process.wait()
            signal_group(process.pid, signal.SIGKILL)  # Claude Code processes orphaned by the host
            if not host.wanted:
                return
            host.state = "failed"
            if loop.time() - began > _STABLE_SECONDS:
                failures = 0
            delay = min(self._backoff[1], self._backoff[0] * 2**failures)
            failures += 1
            log.warning(
                "host.died", user_id=host.spec.user_id, code=process.returncode, retry_in=delay
            )
            await asyncio.sleep(delay)
            if await self._relaunch(host):
                await self._notify_restart(host.spec.user_id)

    async def _relaunch(self, host: _Host) -> bool:
        try:
            await self._launch(host)
        except (ProvisionError, OSError) as exc:
            log.warning("host.restart_failed", user_id=host.spec.user_id, error=str(exc)[:300])
            return False
        log.info("host.restarted", user_id=host.spec.user_id, port=host.port)
        return True

    async def _notify_restart(self, user_id: int) -> None:
        if self._on_restart is None:
            return
        try:
            await self._on_restart(user_id)
        except Exception as exc:  # the hook is the relay's; its failure must not stop supervision
            log.error("host.on_restart_failed", user_id=user_id, error=repr(exc))

    async def _halt(self, host: _Host) -> None:
        """Stop supervising one host and terminate its process."""
        host.wanted = False
        if host.supervisor is not None:
            host.supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await host.supervisor
            host.supervisor = None
        if host.process is not None:
            await host.process.terminate()
        await asyncio.to_thread(remove_pid_file, host.data_dir)
        host.state = "stopped"


def _inherited_env() -> dict[str, str]:
    """The relay's environment minus its own settings and secrets (PATH, HOME, locale…)."""
    # Reading os.environ here only passes it on; settings themselves come from config.py.
    return {k: v for k, v in os.environ.items() if not k.startswith(_PRIVATE_PREFIXES)}


def _log_tail(path: Path, limit: int = 4000) -> str:
    try:
        data = path.read_bytes()[-limit:]
    except OSError:
        return "(no log)"
    return data.decode(errors="replace").strip() or "(empty log)"

"""Fly hosts: one Fly Machine per user through the Machines API (`flyapi.FlyClient`).

Each user gets the machine `cockpit-host-<digits>` in `FLY_APP` (metadata
`cockpit_user=<id>`, which is how it is found again: nothing is kept in memory),
run from `COCKPIT_HOST_IMAGE` with the host's environment, the `COCKPIT_FLY_*`
guest size, restart policy `always`, a Fly health check on `/health`, and the
volume `cockpit_ws_<user id>` at /data (Fly mounts one volume per machine, so the
workspace and the host's own data share it as /data/workspace and /data/host).
A machine destroyed behind our back is created again on the same volume, so the
user's code survives. The relay reaches the host over Fly's private network at
`http://<machine id>.vm.<app>.internal:8080`.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from typing import Any

from cockpit.config import Settings
from cockpit.log import get_logger
from cockpit.provision.base import HostEndpoint, HostSpec, HostState
from cockpit.provision.container import IMAGE_PORT
from cockpit.provision.errors import ProvisionError
from cockpit.provision.flyapi import FlyAPIError, FlyClient, FlyNotFound, FlyRetryable
from cockpit.provision.hostenv import host_env, phone_digits

log = get_logger(__name__)

Machine = dict[str, Any]
USER_KEY = "cockpit_user"
MOUNT = "/data"
WORKSPACE = "/data/workspace"
DATA_DIR = "/data/host"
GONE = ("destroying", "destroyed")
# Fly runs this against the host itself; `create` waits until it passes.
HEALTH_CHECK = {
    "type": "http", "port": IMAGE_PORT, "method": "GET", "path": "/health",
    "interval": "15s", "timeout": "5s", "grace_period": "30s",
}  # fmt: skip
_STOP = {"signal": "SIGTERM", "timeout": "10s"}  # the host shuts down cleanly on SIGTERM
_STATES: dict[str, HostState] = {
    "created": "starting", "creating": "starting", "starting": "starting",
    "restarting": "starting", "updating": "starting", "replacing": "starting",
    "stopping": "stopped", "stopped": "stopped", "suspending": "stopped", "suspended": "stopped",
    "failed": "failed", "launch_failed": "failed",
    "destroying": "absent", "destroyed": "absent",
}  # fmt: skip


def machine_name(phone: str) -> str:
    """The name of a user's host machine."""
    return f"cockpit-host-{phone_digits(phone)}"


def volume_name(user_id: int) -> str:
    """The user's workspace volume (Fly: lowercase letters, digits and `_`, at most 30)."""
    return f"cockpit_ws_{user_id}"


def host_state(machine: Machine) -> HostState:
    """Map a Fly machine's state (and its health checks) to a HostState."""
    state = str(machine.get("state"))
    if state == "started":
        return "running" if checks_pass(machine) else "starting"
    return _STATES.get(state, "failed")


def checks_pass(machine: Machine) -> bool:
    """True when Fly reports every health check of the machine passing."""
    checks = machine.get("checks") or []
    return bool(checks) and all(check.get("status") == "passing" for check in checks)


class _Vanished(Exception):
    """The machine was destroyed while we were bringing it up."""


class FlyProvisioner:
    """Runs each user's host on its own Fly Machine."""

    def __init__(
        self,
        settings: Settings,
        *,
        client: FlyClient | None = None,
        ready_timeout: float = 300.0,
        poll_seconds: float = 1.0,
        endpoint_ttl: float = 30.0,
    ) -> None:
        """`client` defaults to one built from FLY_API_TOKEN, FLY_APP and FLY_API_BASE_URL.

        `endpoint()` answers from memory for `endpoint_ttl` seconds: the relay asks for it
        on every message, and listing machines counts against Fly's rate limit.
        """
        settings.require("fly_api_token", "fly_app")
        assert settings.fly_api_token is not None and settings.fly_app is not None
        self._settings = settings
        self._app = settings.fly_app
        self._client = client or FlyClient(
            base_url=settings.fly_api_base_url,
            token=settings.fly_api_token.get_secret_value(),
            app=settings.fly_app,
        )
        self._ready_timeout = ready_timeout
        self._poll = poll_seconds
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._endpoint_ttl = endpoint_ttl
        self._endpoints: dict[int, tuple[HostEndpoint, float]] = {}

    async def create(self, spec: HostSpec) -> HostEndpoint:
        """Create and start the user's machine, or reuse (and start) the existing one."""
        async with self._locks[spec.user_id]:
            machine = await self._find(spec.user_id) or await self._new_machine(spec)
            machine = await self._started(machine, spec)
            await self._wait_healthy(machine)
        log.info("host.fly_ready", user_id=spec.user_id, machine=machine["id"])
        return self._remember(spec.user_id, machine)

    async def start(self, user_id: int) -> None:
        """Start the user's stopped machine and wait until its health check passes."""
        async with self._locks[user_id]:
            machine = await self._find(user_id)
            if machine is None:
                raise ProvisionError(f"no host machine for user {user_id}; create it first")
            await self._wait_healthy(await self._started(machine, None))

    async def stop(self, user_id: int) -> None:
        """Stop the user's machine; its volume stays."""
        async with self._locks[user_id]:
            machine = await self._find(user_id)
            if machine is None or machine["state"] in ("stopped", "suspended", "failed"):
                return
            if machine["state"] != "stopping":
                try:
                    await self._machine_call(machine, "POST", "/stop", _STOP)
                except FlyNotFound:
                    return
                except FlyRetryable:  # 412: it is stopping already, or leased; look again
                    machine = await self._get(machine["id"])
            await self._wait_state(machine, "stopped")

    async def destroy(self, user_id: int) -> None:
        """Destroy the user's machine and their workspace volume."""
        async with self._locks[user_id]:
            machine = await self._find(user_id)
            if machine is not None:
                try:
                    await self._machine_call(machine, "DELETE", "", params={"force": "true"})
                    await self._wait_state(machine, "destroyed")
                except FlyNotFound:
                    pass
            self._endpoints.pop(user_id, None)
            for volume in await self._volumes(user_id):
                await self._delete_volume(volume)
        log.info("host.fly_destroyed", user_id=user_id)

    async def status(self, user_id: int) -> HostState:
        """The machine's state as a HostState (`absent` when there is none)."""
        machine = await self._find(user_id)
        if machine is None:
            self._endpoints.pop(user_id, None)
            return "absent"
        return host_state(machine)

    async def endpoint(self, user_id: int) -> HostEndpoint | None:
        """Where the user's host listens on Fly's private network, if it exists."""
        cached = self._endpoints.get(user_id)
        if cached is not None and time.monotonic() - cached[1] < self._endpoint_ttl:
            return cached[0]
        machine = await self._find(user_id)
        return None if machine is None else self._remember(user_id, machine)

    async def aclose(self) -> None:
        """Close the API connections; the machines keep running."""
        await self._client.aclose()

    # --- machines ------------------------------------------------------------------

    async def _find(self, user_id: int) -> Machine | None:
        found = await self._client.call(
            "GET", "/machines", params={f"metadata.{USER_KEY}": str(user_id)}
        )
        alive = [m for m in found or [] if m.get("state") not in GONE]
        return alive[0] if alive else None

    async def _get(self, machine_id: str) -> Machine:
        machine: Machine = await self._client.call("GET", f"/machines/{machine_id}")
        return machine

    async def _machine_call(
        self,
        machine: Machine,
        method: str,
        action: str,
        body: Any = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        return await self._client.call(method, f"/machines/{machine['id']}{action}", body, params)

    async def _new_machine(self, spec: HostSpec) -> Machine:
        """Create the machine; after a failure whose outcome is unknown, look before retrying."""
        volume = await self._volume(spec.user_id)
        body = {
            "name": machine_name(spec.phone),
            "region": volume["region"],  # a volume only attaches to machines in its region
            "config": self._config(spec, volume["id"]),
        }
        for attempt in range(1, 4):
            try:
                machine: Machine = await self._client.call("POST", "/machines", body)
            except FlyAPIError as exc:
                found = await self._find(spec.user_id)
                if found is not None:  # another relay, or our own lost answer, made it
                    return found
                if not isinstance(exc, FlyRetryable) or attempt == 3:
                    raise
                continue
            log.info("host.fly_created", user_id=spec.user_id, machine=machine["id"])
            return machine
        raise AssertionError("unreachable")

    def _config(self, spec: HostSpec, volume_id: str) -> dict[str, Any]:
        settings = self._settings
        return {
            "image": settings.host_image,
            "env": host_env(settings, spec, DATA_DIR, WORKSPACE),
            "guest": {
                "cpu_kind": settings.fly_cpu_kind,
                "cpus": settings.fly_cpus,
                "memory_mb": settings.fly_memory_mb,
            },
            "restart": {"policy": "always"},
            "mounts": [{"volume": volume_id, "path": MOUNT}],
            # `::`: Fly's private network is IPv6 only; the image's default 0.0.0.0 is not.
            "init": {"cmd": ["cockpit", "host", "--host", "::", "--port", str(IMAGE_PORT)]},
            "checks": {"health": HEALTH_CHECK},
            "metadata": {USER_KEY: str(spec.user_id)},
            "auto_destroy": False,
        }

    async def _started(self, machine: Machine, spec: HostSpec | None) -> Machine:
        """Bring `machine` to `started`; recreate it (with `spec`) if it vanished meanwhile."""
        deadline = time.monotonic() + self._ready_timeout
        while machine["state"] != "started":
            if time.monotonic() > deadline:
                raise ProvisionError(
                    f"the host machine {machine['id']} did not start within "
                    f"{self._ready_timeout:g} s (Fly state {machine['state']})"
                )
            try:
                machine = await self._step_towards_started(machine)
            except (FlyNotFound, _Vanished):
                if spec is None:
                    raise ProvisionError(f"the host machine {machine['id']} is gone") from None
                log.warning("host.fly_vanished", user_id=spec.user_id, machine=machine["id"])
                machine = await self._new_machine(spec)
        return machine

    async def _step_towards_started(self, machine: Machine) -> Machine:
        state = machine["state"]
        if state in GONE:
            raise _Vanished(machine["id"])
        if state in ("stopping", "suspending"):
            await self._wait_state(machine, "stopped")
            return await self._get(machine["id"])
        if state in ("stopped", "suspended", "failed"):
            try:
                await self._machine_call(machine, "POST", "/start")
            except FlyRetryable as exc:  # 412: still active or leased; look again
                log.warning("host.fly_start_refused", machine=machine["id"], error=exc.fly_error)
                await asyncio.sleep(self._poll)
                return await self._get(machine["id"])
        await self._wait_state(machine, "started")
        return await self._get(machine["id"])

    async def _wait_state(self, machine: Machine, state: str) -> None:
        """Block on Fly's /wait (60 s at most per call) until `state` or the ready timeout."""
        deadline = time.monotonic() + self._ready_timeout
        params = {"state": state, "instance_id": str(machine.get("instance_id", ""))}
        while True:
            remaining = deadline - time.monotonic()
            params["timeout"] = str(max(1, min(60, int(remaining))))
            try:
                await self._machine_call(machine, "GET", "/wait", params=params)
                return
            except FlyAPIError as exc:
                if exc.status != 408 or remaining <= 0:
                    raise
                machine = await self._get(machine["id"])  # a restart gives a new instance_id
                params["instance_id"] = str(machine.get("instance_id", ""))

    async def _wait_healthy(self, machine: Machine) -> None:
        deadline = time.monotonic() + self._ready_timeout
        while not checks_pass(machine):
            if time.monotonic() > deadline:
                outputs = "; ".join(
                    f"{c.get('name')}: {c.get('status')} {c.get('output', '')}".strip()
                    for c in machine.get("checks") or []
                )
                raise ProvisionError(
                    f"the host machine {machine['id']} started but its health check did not "
                    f"pass within {self._ready_timeout:g} s ({outputs or 'no check result yet'})"
                )
            await asyncio.sleep(self._poll)
            machine = await self._get(machine["id"])

    def _remember(self, user_id: int, machine: Machine) -> HostEndpoint:
        env = (machine.get("config") or {}).get("env") or {}
        endpoint = HostEndpoint(
            url=f"http://{machine['id']}.vm.{self._app}.internal:{IMAGE_PORT}",
            token=str(env.get("COCKPIT_HOST_TOKEN", "")),
        )
        self._endpoints[user_id] = (endpoint, time.monotonic())
        return endpoint

    # --- volumes -------------------------------------------------------------------

    async def _volumes(self, user_id: int) -> list[dict[str, Any]]:
        found = await self._client.call("GET", "/volumes") or []
        name = volume_name(user_id)
        return [v for v in found if v.get("name") == name and v.get("state") not in GONE]

    async def _volume(self, user_id: int) -> dict[str, Any]:
        """The user's volume, unattached ones first; created when there is none."""
        for attempt in range(1, 4):
            existing = sorted(
                await self._volumes(user_id), key=lambda v: bool(v.get("attached_machine_id"))
            )
            if existing:
                return existing[0]
            body = {
                "name": volume_name(user_id),
                "region": self._settings.fly_region,
                "size_gb": self._settings.fly_volume_gb,
                "encrypted": True,
                "require_unique_zone": False,
            }
            try:
                volume: dict[str, Any] = await self._client.call("POST", "/volumes", body)
                return volume
            except FlyRetryable:
                if attempt == 3:
                    raise
        raise AssertionError("unreachable")

    async def _delete_volume(self, volume: dict[str, Any]) -> None:
        """Delete a volume, waiting while Fly still has it attached to the dying machine."""
        deadline = time.monotonic() + self._ready_timeout
        while True:
            try:
                await self._client.call("DELETE", f"/volumes/{volume['id']}")
                return
            except FlyNotFound:
                return
            except FlyAPIError as exc:
                if exc.status not in (409, 412) or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(self._poll)

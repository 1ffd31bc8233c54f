"""Container hosts: one container per user through the Docker Engine API.

Works with Docker and with Podman's Docker-compatible service. Each user gets
the container `cockpit-host-<digits>` (label `cockpit.user=<id>`), their code
on the named volume `cockpit-ws-<digits>` (at /workspace) and the host's own
data (event log, Claude's home) on `cockpit-data-<digits>` (at /data), so both
survive a new container. The engine restarts a dead host (`unless-stopped`).

The container's labels hold all this provisioner needs (user id, port), so a
restarted relay finds every host again; nothing is kept in memory.
The `docker` package is blocking: every call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import docker
from docker.errors import APIError, DockerException, NotFound

from cockpit.config import Settings
from cockpit.log import get_logger
from cockpit.provision.base import HostEndpoint, HostSpec, HostState
from cockpit.provision.errors import ProvisionError
from cockpit.provision.health import wait_healthy
from cockpit.provision.hostenv import free_port, host_env, phone_digits

log = get_logger(__name__)

T = TypeVar("T")
USER_LABEL = "cockpit.user"
PORT_LABEL = "cockpit.port"
WORKSPACE = "/workspace"
DATA_DIR = "/data"
IMAGE_PORT = 8080  # where the image's host listens when the container has its own network
_SECOND = 1_000_000_000  # the Engine API counts health check times in nanoseconds
# No spaces: Podman's Docker API splits a health check's arguments on whitespace.
_PROBE = "__import__('urllib.request').request.urlopen('http://127.0.0.1:{port}/health',timeout=3)"


def container_name(phone: str) -> str:
    """The name of a user's host container."""
    return f"cockpit-host-{phone_digits(phone)}"


def volume_names(phone: str) -> tuple[str, str]:
    """The user's workspace volume and host data volume."""
    digits = phone_digits(phone)
    return f"cockpit-ws-{digits}", f"cockpit-data-{digits}"


class ContainerProvisioner:
    """Runs each user's host in its own container (Docker or Podman)."""

    def __init__(
        self,
        settings: Settings,
        *,
        docker_url: str,
        image: str,
        network_mode: str = "host",
        extra_binds: Mapping[str, str] | None = None,
        ready_timeout: float = 60.0,
        stop_timeout: int = 10,
    ) -> None:
        """`extra_binds` maps machine paths to container paths, mounted read-only (tests)."""
        self._settings = settings
        self._docker_url = docker_url
        self._image = image
        self._network_mode = network_mode
        self._extra_binds = dict(extra_binds or {})
        self._ready_timeout = ready_timeout
        self._stop_timeout = stop_timeout
        self._client: Any = None
        self._lock = asyncio.Lock()

    async def create(self, spec: HostSpec) -> HostEndpoint:
        """Create and start the user's container, or reuse (and start) the existing one."""
        async with self._lock:
            container = await self._call(self._ensure_running, spec)
        endpoint = _endpoint_of(container)
        problem = await wait_healthy(endpoint.url, self._ready_timeout)
        if problem is not None:
            logs = await self._call(_logs_tail, container)
            raise ProvisionError(
                f"the host container {container.name} did not start: {problem}.\n"
                f"Last lines of its log:\n{logs}"
            )
        return endpoint

    async def start(self, user_id: int) -> None:
        """Start the user's stopped container and wait until it answers."""
        container = await self._call(self._require, user_id)
        await self._call(container.start)
        problem = await wait_healthy(_endpoint_of(container).url, self._ready_timeout)
        if problem is not None:
            raise ProvisionError(f"the host container {container.name} did not start: {problem}")

    async def stop(self, user_id: int) -> None:
        """Stop the user's container; its volumes stay."""
        container = await self._call(self._find, user_id)
        if container is not None:
            await self._call(container.stop, timeout=self._stop_timeout)

    async def destroy(self, user_id: int) -> None:
        """Remove the user's container and both of their volumes."""
        container = await self._call(self._find, user_id)
        if container is not None:
            await self._call(container.remove, force=True)
        await self._call(self._remove_volumes, user_id)

    async def status(self, user_id: int) -> HostState:
        """The container's state as a HostState (`absent` when there is none)."""
        container = await self._call(self._find, user_id)
        if container is None:
            return "absent"
        state = container_state(container.attrs)
        if state == "starting" and container.status == "running":
            # Health checks run late (Docker) or never (Podman without systemd): ask the host.
            answer = await wait_healthy(_endpoint_of(container).url, 1.0)
            return "running" if answer is None else "starting"
        return state

    async def endpoint(self, user_id: int) -> HostEndpoint | None:
        """Where the user's host listens (on this machine's loopback), if it exists."""
        container = await self._call(self._find, user_id)
        return None if container is None else _endpoint_of(container)

    async def aclose(self) -> None:
        """Close the connection to the engine; the containers keep running."""
        if self._client is not None:
            await asyncio.to_thread(self._client.close)
            self._client = None

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking engine call in a thread; engine errors become ProvisionError."""
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except (DockerException, OSError) as exc:
            raise ProvisionError(f"container engine at {self._docker_url}: {exc}") from exc

    def _docker(self) -> Any:
        if self._client is None:
            self._client = docker.DockerClient(base_url=self._docker_url)
        return self._client

    def _find(self, user_id: int) -> Any | None:
        found = self._docker().containers.list(
            all=True, filters={"label": f"{USER_LABEL}={user_id}"}
        )
        return found[0] if found else None

    def _require(self, user_id: int) -> Any:
        container = self._find(user_id)
        if container is None:
            raise ProvisionError(f"no host container for user {user_id}; create it first")
        return container

    def _ensure_running(self, spec: HostSpec) -> Any:
        containers = self._docker().containers
        try:
            container = containers.get(container_name(spec.phone))
        except NotFound:
            container = self._new_container(spec)
        if container.status != "running":
            container.start()
            container.reload()
        return container

    def _new_container(self, spec: HostSpec) -> Any:
        port = free_port()
        self._ensure_volumes(spec)
        try:
            container = self._docker().containers.create(self._image, **self._run_args(spec, port))
        except APIError as exc:
            if exc.status_code != 409:  # 409: another relay created it just now
                raise
            return self._docker().containers.get(container_name(spec.phone))
        log.info("host.container_created", user_id=spec.user_id, name=container.name, port=port)
        return container

    def _run_args(self, spec: HostSpec, port: int) -> dict[str, Any]:
        """Everything `containers.create` needs besides the image."""
        own_network = self._network_mode == "host"
        listen, inner_port = ("127.0.0.1", port) if own_network else ("0.0.0.0", IMAGE_PORT)  # noqa: S104
        workspace_volume, data_volume = volume_names(spec.phone)
        volumes = {
            workspace_volume: {"bind": WORKSPACE, "mode": "rw"},
            data_volume: {"bind": DATA_DIR, "mode": "rw"},
        } | {src: {"bind": dst, "mode": "ro"} for src, dst in self._extra_binds.items()}
        return {
            "command": ["cockpit", "host", "--host", listen, "--port", str(inner_port)],
            "name": container_name(spec.phone),
            "labels": {USER_LABEL: str(spec.user_id), PORT_LABEL: str(port)},
            "environment": host_env(self._settings, spec, DATA_DIR, WORKSPACE),
            "volumes": volumes,
            "network_mode": self._network_mode,
            "ports": None if own_network else {f"{IMAGE_PORT}/tcp": ("127.0.0.1", port)},
            "restart_policy": {"Name": "unless-stopped"},
            "init": True,  # reaps the Claude Code and MCP processes the host leaves behind
            "healthcheck": _healthcheck(inner_port),
            "detach": True,
        }

    def _ensure_volumes(self, spec: HostSpec) -> None:
        volumes = self._docker().volumes
        for name in volume_names(spec.phone):
            try:
                volumes.get(name)
            except NotFound:
                volumes.create(name=name, labels={USER_LABEL: str(spec.user_id)})

    def _remove_volumes(self, user_id: int) -> None:
        volumes = self._docker().volumes.list(filters={"label": f"{USER_LABEL}={user_id}"})
        for volume in volumes:
            try:
                volume.remove(force=True)
            except NotFound:
                continue


def container_state(attrs: Mapping[str, Any]) -> HostState:
    """Map the engine's container state (and health) to a HostState."""
    state = attrs.get("State") or {}
    status = state.get("Status")
    if status == "running":
        health = (state.get("Health") or {}).get("Status")
        if health == "starting":
            return "starting"
        return "failed" if health == "unhealthy" else "running"
    if status in ("created", "configured", "initialized", "restarting"):
        return "starting"
    if status in ("exited", "stopped", "paused"):
        return "stopped"
    return "failed"


def _endpoint_of(container: Any) -> HostEndpoint:
    port = container.labels[PORT_LABEL]
    env = dict(item.split("=", 1) for item in container.attrs["Config"]["Env"] or [])
    return HostEndpoint(url=f"http://127.0.0.1:{port}", token=env["COCKPIT_HOST_TOKEN"])


def _healthcheck(port: int) -> dict[str, Any]:
    return {
        "test": ["CMD", "python", "-c", _PROBE.format(port=port)],
        "interval": 15 * _SECOND,
        "timeout": 5 * _SECOND,
        "retries": 3,
        "start_period": 30 * _SECOND,
    }


def _logs_tail(container: Any) -> str:
    raw: bytes = container.logs(tail=40)
    return raw.decode(errors="replace").strip() or "(empty log)"

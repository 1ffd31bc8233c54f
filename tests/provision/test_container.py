"""The container provisioner runs each user's real host in a container (Podman's Docker API)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import docker
import httpx
import pytest

from cockpit.config import load_settings
from cockpit.provision.base import HostSpec
from cockpit.provision.container import ContainerProvisioner, container_state

CAROL = HostSpec(user_id=7, phone="+15550007777", token="carol-token")


@pytest.fixture
async def containers(
    podman_host_image: tuple[str, str, dict[str, str]], tmp_path: Path
) -> AsyncIterator[ContainerProvisioner]:
    """A ContainerProvisioner on the Podman service; the test's host is destroyed after."""
    url, image, binds = podman_host_image
    provisioner = ContainerProvisioner(
        load_settings(data_dir=tmp_path), docker_url=url, image=image, extra_binds=binds
    )
    yield provisioner
    await provisioner.destroy(CAROL.user_id)
    await provisioner.aclose()


async def _health(url: str, token: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.get(f"{url}/health", headers={"Authorization": f"Bearer {token}"})


def _volumes(docker_url: str) -> set[str]:
    client = docker.DockerClient(base_url=docker_url)
    try:
        return {v.name for v in client.volumes.list()}
    finally:
        client.close()


def _run_health_check(docker_url: str, name: str) -> int:
    """Run the container's health check command, as the engine stored it, with this Python."""
    client = docker.DockerClient(base_url=docker_url)
    try:
        test = client.containers.get(name).attrs["Config"]["Healthcheck"]["Test"]
    finally:
        client.close()
    assert test[:3] == ["CMD", "python", "-c"]
    # The container shares this machine's network and Python, so the same command applies.
    return subprocess.run([sys.executable, *test[2:]], check=False, timeout=30).returncode


@pytest.mark.podman
@pytest.mark.slow
async def test_a_container_host_lives_through_create_stop_start_and_destroy(
    containers: ContainerProvisioner, podman_host_image: tuple[str, str, dict[str, str]]
) -> None:
    """A user's container answers on loopback, is reused, stops, starts and is removed whole."""
    endpoint = await containers.create(CAROL)
    assert (await _health(endpoint.url, endpoint.token)).json()["branch"] == "main"
    assert await containers.create(CAROL) == endpoint
    assert await containers.status(CAROL.user_id) == "running"
    assert _run_health_check(podman_host_image[0], "cockpit-host-15550007777") == 0
    assert {"cockpit-ws-15550007777", "cockpit-data-15550007777"} <= _volumes(podman_host_image[0])

    await containers.stop(CAROL.user_id)
    assert await containers.status(CAROL.user_id) == "stopped"
    await containers.start(CAROL.user_id)
    assert (await _health(endpoint.url, endpoint.token)).status_code == 200

    await containers.destroy(CAROL.user_id)
    assert await containers.status(CAROL.user_id) == "absent"
    assert await containers.endpoint(CAROL.user_id) is None
    assert not {"cockpit-ws-15550007777", "cockpit-data-15550007777"} & _volumes(
        podman_host_image[0]
    )


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({"Status": "running"}, "running"),
        ({"Status": "running", "Health": {"Status": "healthy"}}, "running"),
        ({"Status": "running", "Health": {"Status": "starting"}}, "starting"),
        ({"Status": "running", "Health": {"Status": "unhealthy"}}, "failed"),
        ({"Status": "created"}, "starting"),
        ({"Status": "restarting"}, "starting"),
        ({"Status": "exited"}, "stopped"),
        ({"Status": "dead"}, "failed"),
    ],
)
def test_engine_states_map_to_host_states(state: dict[str, object], expected: str) -> None:
    """Each container state the engine reports becomes the host state the relay shows."""
    assert container_state({"State": state}) == expected

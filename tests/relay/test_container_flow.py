"""A message's round trip through a host in a real container (Podman's Docker API).

Phone simulator → relay → the user's host container → the real Claude Code CLI →
the scripted Anthropic stand-in, and back to the phone. The container shares the
machine's network, so the host reaches the stand-in on 127.0.0.1 and the relay
reaches the host there too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import docker
import pytest

from cockpit.channels.simulator import create_simulator_app
from cockpit.config import Settings
from cockpit.provision.container import ContainerProvisioner, container_name, volume_names
from cockpit.relay.host_agent import HostAgent
from cockpit.relay.hosts import HostManager
from cockpit.server import build_relay, create_app
from cockpit.store import users
from cockpit.store.migrate import upgrade
from tests.fakes.anthropic import AnthropicFake, has_tool_result, say, tool
from tests.live import bound_socket, serve
from tests.relay.conftest import (
    ADA,
    Stack,
    claude_overrides,
    make_simulator,
    relay_settings,
)
from tests.requirements import require_claude_cli

pytestmark = [pytest.mark.claude, pytest.mark.podman, pytest.mark.slow]

PodmanImage = tuple[str, str, dict[str, str]]


def _provisioner(settings: Settings, podman: PodmanImage) -> ContainerProvisioner:
    """The container provisioner on the test engine, with the test image's read-only binds."""
    docker_url, image, binds = podman
    return ContainerProvisioner(settings, docker_url=docker_url, image=image, extra_binds=binds)


@contextmanager
def container_stack(
    db_url: str, data_dir: Path, podman: PodmanImage, **overrides: Any
) -> Iterator[Stack]:
    """Relay + simulator on loopback whose hosts run in containers; Ada's host is removed after.

    The relay builds its provisioner from settings, which cannot carry the test image's
    binds, so the host manager is built here and closed by the app's shutdown (`closers`).
    It provisions on the first message instead of at startup (no `start_all`).
    """
    relay_sock, sim_sock = bound_socket(), bound_socket()
    relay_url = f"http://127.0.0.1:{relay_sock.getsockname()[1]}"
    sim_url = f"http://127.0.0.1:{sim_sock.getsockname()[1]}"
    settings = relay_settings(db_url, data_dir, relay_url, sim_url, **overrides)
    relay = build_relay(settings)
    ada = users.find_by_phone(relay.db, ADA) or users.add_user(relay.db, ADA, "Ada")
    manager = HostManager(relay, _provisioner(settings, podman))
    app = create_app(relay, agent=HostAgent(manager), closers=[manager.aclose])
    sim = make_simulator(relay_url)
    try:
        with serve(create_simulator_app(sim), sim_sock), serve(app, relay_sock):
            yield Stack(sim, sim_url, relay_url, relay.db, settings)
    finally:
        asyncio.run(_destroy(_provisioner(settings, podman), ada.id))


async def _destroy(provisioner: ContainerProvisioner, user_id: int) -> None:
    try:
        await provisioner.destroy(user_id)
    finally:
        await provisioner.aclose()


def _container_names(docker_url: str) -> set[str]:
    """Names of every container the engine knows, running or not."""
    client = docker.DockerClient(base_url=docker_url)
    try:
        return {c.name for c in client.containers.list(all=True)}
    finally:
        client.close()


def _workspace_file(docker_url: str, phone: str, name: str) -> str | None:
    """A file's text on the user's workspace volume, read where the local engine keeps it.

    Reading the volume from outside (rather than `exec` in the container) leaves no
    Podman exec monitor behind after the test.
    """
    client = docker.DockerClient(base_url=docker_url)
    try:
        mountpoint = client.volumes.get(volume_names(phone)[0]).attrs["Mountpoint"]
    finally:
        client.close()
    path = Path(mountpoint) / name
    return path.read_text() if path.exists() else None


def test_a_message_makes_claude_in_a_container_write_a_file(
    tmp_path: Path, anthropic_fake: AnthropicFake, podman_host_image: PodmanImage
) -> None:
    """The phone gets the ack, the answer and the cost line; the container holds the file."""
    require_claude_cli()
    db_url = f"sqlite:///{tmp_path / 'cockpit.db'}"
    upgrade(db_url)
    anthropic_fake.script(
        [
            tool("Write", {"file_path": "/workspace/hello.txt", "content": "hello\n"}),
            say("I wrote **hello.txt** in the container.", when=has_tool_result),
        ]
    )
    overrides = claude_overrides(anthropic_fake)
    with container_stack(db_url, tmp_path / "data", podman_host_image, **overrides) as stack:
        stack.send("please write hello.txt")
        bodies = stack.wait_for("✅ Done", timeout=50)
        assert "👀 on it" not in bodies  # typing… instead
        answer = next(b for b in bodies if b.startswith("I wrote *hello.txt* in the container."))
        assert "✅ Done" in answer and "$" in answer
        assert _workspace_file(podman_host_image[0], ADA, "hello.txt") == "hello\n"
    assert container_name(ADA) not in _container_names(podman_host_image[0])

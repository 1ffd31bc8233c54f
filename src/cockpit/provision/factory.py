"""Builds the provisioner the settings ask for (`COCKPIT_PROVISIONER`)."""

from __future__ import annotations

from cockpit.config import Settings
from cockpit.provision.base import Provisioner
from cockpit.provision.errors import ProvisionError
from cockpit.provision.local import LocalProvisioner, OnRestart

DEFAULT_DOCKER_URL = "unix:///var/run/docker.sock"
DEFAULT_HOST_IMAGE = "cockpit-host:latest"


def build_provisioner(settings: Settings, *, on_restart: OnRestart | None = None) -> Provisioner:
    """The provisioner for `settings.provisioner`; `on_restart` is told of restarted local hosts."""
    if settings.provisioner == "local":
        return LocalProvisioner(settings, on_restart=on_restart)
    if settings.provisioner == "container":
        from cockpit.provision.container import ContainerProvisioner

        # Until config.py has these settings, the defaults apply (see docs/provisioning.md).
        return ContainerProvisioner(
            settings,
            docker_url=getattr(settings, "docker_url", None) or DEFAULT_DOCKER_URL,
            image=getattr(settings, "host_image", None) or DEFAULT_HOST_IMAGE,
            network_mode=getattr(settings, "container_network", None) or "host",
        )
    raise ProvisionError(f"the {settings.provisioner!r} provisioner is not available yet")

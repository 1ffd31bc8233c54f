"""Builds the provisioner the settings ask for (`COCKPIT_PROVISIONER`)."""

from __future__ import annotations

from cockpit.config import Settings
from cockpit.provision.base import Provisioner
from cockpit.provision.errors import ProvisionError
from cockpit.provision.local import LocalProvisioner, OnRestart


def build_provisioner(settings: Settings, *, on_restart: OnRestart | None = None) -> Provisioner:
    """The provisioner for `settings.provisioner`; `on_restart` is told of restarted local hosts."""
    if settings.provisioner == "local":
        return LocalProvisioner(settings, on_restart=on_restart)
    if settings.provisioner == "container":
        from cockpit.provision.container import ContainerProvisioner

        return ContainerProvisioner(
            settings,
            docker_url=settings.docker_url,
            image=settings.host_image,
            network_mode=settings.container_network,
        )
    if settings.provisioner == "fly":
        from cockpit.provision.fly import FlyProvisioner

        return FlyProvisioner(settings)
    raise ProvisionError(f"the {settings.provisioner!r} provisioner is not available yet")

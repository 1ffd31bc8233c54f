"""`build_provisioner` picks the provisioner named by COCKPIT_PROVISIONER."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.config import load_settings
from cockpit.provision.container import ContainerProvisioner
from cockpit.provision.errors import ProvisionError
from cockpit.provision.factory import build_provisioner
from cockpit.provision.local import LocalProvisioner


async def test_local_and_container_settings_build_their_provisioner(tmp_path: Path) -> None:
    """COCKPIT_PROVISIONER=local gives local subprocess hosts, =container gives containers."""
    local = build_provisioner(load_settings(data_dir=tmp_path, provisioner="local"))
    container = build_provisioner(load_settings(data_dir=tmp_path, provisioner="container"))
    assert isinstance(local, LocalProvisioner)
    assert isinstance(container, ContainerProvisioner)
    await local.aclose()
    await container.aclose()


def test_an_unavailable_provisioner_is_refused(tmp_path: Path) -> None:
    """COCKPIT_PROVISIONER=fly is refused with a clear error until Fly support exists."""
    with pytest.raises(ProvisionError, match="fly"):
        build_provisioner(load_settings(data_dir=tmp_path, provisioner="fly"))

"""`build_provisioner` picks the provisioner named by COCKPIT_PROVISIONER."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.config import load_settings
from cockpit.errors import ConfigError
from cockpit.provision.container import ContainerProvisioner
from cockpit.provision.factory import build_provisioner
from cockpit.provision.fly import FlyProvisioner
from cockpit.provision.local import LocalProvisioner


async def test_local_and_container_settings_build_their_provisioner(tmp_path: Path) -> None:
    """COCKPIT_PROVISIONER=local gives local subprocess hosts, =container gives containers."""
    local = build_provisioner(load_settings(data_dir=tmp_path, provisioner="local"))
    container = build_provisioner(load_settings(data_dir=tmp_path, provisioner="container"))
    assert isinstance(local, LocalProvisioner)
    assert isinstance(container, ContainerProvisioner)
    await local.aclose()
    await container.aclose()


async def test_fly_settings_build_the_fly_provisioner(tmp_path: Path) -> None:
    """COCKPIT_PROVISIONER=fly with a token and an app gives Fly Machines hosts."""
    settings = load_settings(
        data_dir=tmp_path, provisioner="fly", fly_api_token="fo1_x", fly_app="cockpit-hosts"
    )
    fly = build_provisioner(settings)
    assert isinstance(fly, FlyProvisioner)
    await fly.aclose()


def test_fly_without_its_settings_names_what_is_missing(tmp_path: Path) -> None:
    """COCKPIT_PROVISIONER=fly without FLY_API_TOKEN and FLY_APP fails naming both."""
    with pytest.raises(ConfigError, match="FLY_API_TOKEN, FLY_APP"):
        build_provisioner(load_settings(data_dir=tmp_path, provisioner="fly"))

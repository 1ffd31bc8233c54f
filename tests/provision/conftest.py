"""Fixtures of the provisioning tests: the Podman engine and its host image."""

from tests.provision.podman import podman_host_image

__all__ = ["podman_host_image"]

"""Provisioning errors live in `cockpit.errors`; re-exported here for the provisioners."""

from cockpit.errors import ProvisionError

__all__ = ["ProvisionError"]

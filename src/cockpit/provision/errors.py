"""Errors of the provisioners (to move into `cockpit.errors` as `ProvisionError`).

CockpitError
└── ProvisionError      a user's host could not be created, started, reached or removed
"""

from __future__ import annotations

from cockpit.errors import CockpitError


class ProvisionError(CockpitError):
    """A user's host could not be created, started, reached or removed."""

    user_message = "Your workspace could not be started. We are looking into it; try again soon."

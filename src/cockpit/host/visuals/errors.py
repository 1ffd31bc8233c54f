"""Errors of the visuals package, part of cockpit's one error hierarchy.

    CockpitError
    └── VisualsError            a picture could not be made
        ├── GitError            git refused (not a repository, unknown revision)
        ├── ScreenshotError     the page could not be opened, timed out, or an action failed
        └── DevServerError      the project's dev server could not be found or started

Each message is a plain sentence that can be shown on the phone as is.
"""

from __future__ import annotations

from cockpit.errors import CockpitError


class VisualsError(CockpitError):
    """A diff image, screenshot or dev server operation failed."""

    user_message = "I could not make that picture."


class GitError(VisualsError):
    """git failed: not a repository, an unknown revision, or git is missing."""

    user_message = "I could not read the changes from git."


class ScreenshotError(VisualsError):
    """The browser could not open the page, timed out, or an action found nothing."""

    user_message = "I could not take that screenshot."


class DevServerError(VisualsError):
    """The dev server could not be found in the project or failed to start."""

    user_message = "I could not start the dev server."

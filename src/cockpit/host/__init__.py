"""The agent host (`cockpit host`): runs Claude Code for one user and streams its events.

`create_host_app(settings)` builds the FastAPI app; `serve_host` runs it.
"""

from cockpit.host.app import create_host_app, serve_host
from cockpit.host.phone_tools import PhoneContext, PhoneToolFactory

__all__ = ["PhoneContext", "PhoneToolFactory", "create_host_app", "serve_host"]

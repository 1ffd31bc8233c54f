"""The operator's `/admin` pages: users, hosts, messages, failed sends (with retry), metrics."""

from cockpit.admin.routes import build_admin_router

__all__ = ["build_admin_router"]

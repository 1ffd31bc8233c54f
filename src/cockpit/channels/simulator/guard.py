"""Who may talk to the phone simulator: trusted `Host`s only, and no cross-site writes.

The simulator signs a webhook for whatever is typed on its page, so a request that
reaches it drives the user's Claude Code. Two checks keep other web pages out:

* `Host` must be a loopback name (`127.0.0.1`, `localhost`, `::1`) or the host of the
  simulator's own webhook address (the relay's COCKPIT_PUBLIC_URL): a DNS-rebinding page
  reaches 127.0.0.1 under its own name and is refused (400, as Starlette's
  TrustedHostMiddleware answers).
* A POST (or any unsafe method) whose `Origin` is another site, or that a browser marks
  `Sec-Fetch-Site: cross-site`, is refused (403). Programs send neither header and pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

LOOPBACK = ("127.0.0.1", "localhost", "::1")
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def _hostname(netloc_or_url: str) -> str:
    """The lower-case host name of `host[:port]` or of a URL (IPv6 brackets removed)."""
    value = netloc_or_url if "//" in netloc_or_url else f"//{netloc_or_url}"
    return (urlsplit(value).hostname or "").lower()


class SimulatorGuard:
    """A FastAPI dependency refusing untrusted hosts and cross-site writes."""

    def __init__(self, webhook_url: str, extra_hosts: Iterable[str] = ()) -> None:
        self.hosts = {*LOOPBACK, _hostname(webhook_url), *(h.lower() for h in extra_hosts)}
        self.hosts.discard("")

    async def __call__(self, request: Request) -> None:
        host = request.headers.get("host", "")
        if _hostname(host) not in self.hosts:
            raise HTTPException(400, "Invalid host header")
        if request.method in _SAFE:
            return
        if request.headers.get("sec-fetch-site", "") == "cross-site":
            raise HTTPException(403, "cross-site requests to the phone simulator are refused")
        origin = request.headers.get("origin")
        if origin is not None and urlsplit(origin).netloc.lower() != host.lower():
            raise HTTPException(403, "cross-site requests to the phone simulator are refused")

"""Security headers on every HTTP answer of the relay and the phone simulator.

Every response: `X-Content-Type-Options: nosniff` (a file is never run as another type),
`X-Frame-Options: DENY` with CSP `frame-ancestors 'none'` (no page can be framed for
clickjacking) and `Referrer-Policy: no-referrer` (signed links in `/media/` and `/full/`
never leak to another site). Pages the project serves (`/admin`, `/phone`, `/full`) get
a Content-Security-Policy that allows only their own scripts, styles and images; media
(`/media/…`, the simulator's media) gets `default-src 'none'; sandbox`, so a file that
arrived as HTML or SVG cannot run script on the relay's origin. A header a route set
itself is left alone. Docs: docs/security.md (item 15).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' data: blob:; font-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
MEDIA_POLICY = "default-src 'none'; sandbox; frame-ancestors 'none'"
FRAME_POLICY = "frame-ancestors 'none'"
_PAGES = ("/admin", "/phone", "/full/")
_MEDIA = ("/media/", "/phone/media/")


def policy_for(path: str) -> str:
    """The Content-Security-Policy of the answer to `path`."""
    if path.startswith(_MEDIA) or ("/Messages/" in path and "/Media/" in path):
        return MEDIA_POLICY
    if path.startswith(_PAGES):
        return PAGE_POLICY
    return FRAME_POLICY  # other pages (signup, account: inline scripts) at least not framed


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = policy_for(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("Content-Security-Policy", policy)
            await send(message)

        await self.app(scope, receive, send_with_headers)

"""A cap on request bodies: without it the host would read any body into memory.

Pure ASGI, so a declared Content-Length over the cap is refused before a byte of the
body is read, and a chunked body is cut off as soon as it passes the cap.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Ten WhatsApp documents of 16 MiB, base64-encoded in one turn, and room for the text.
MAX_BODY_BYTES = 256 * 1024 * 1024


class TooLarge(HTTPException):
    """The body passed the cap while being read (an HTTPException, so FastAPI's body
    parsing lets it through and answers 413 instead of "error parsing the body")."""

    def __init__(self, max_bytes: int):
        super().__init__(413, f"Request body larger than {max_bytes} bytes.")


class BodyLimit:
    """Answer 413 to any request whose body is over `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise TooLarge(self.max_bytes)
            return message

        try:
            await self.app(scope, counted, send)
        except TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = TooLarge(self.max_bytes).detail
        await JSONResponse({"detail": detail}, status_code=413)(scope, receive, send)

"""Reading a provider's form-encoded webhook safely: size, type and encoding."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import HTTPException, Request

MAX_FIELDS = 200


async def read_form(request: Request, max_bytes: int) -> dict[str, str]:
    """The form fields of `request`, or an HTTPException that says what is wrong."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise HTTPException(415, "expected application/x-www-form-urlencoded")
    body = await read_body(request, max_bytes)
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
    except UnicodeDecodeError:
        raise HTTPException(400, "body is not valid UTF-8") from None
    except ValueError as exc:
        raise HTTPException(400, f"malformed form body: {exc}") from None
    if any("\x00" in key or "\x00" in value for key, value in pairs):
        # PostgreSQL refuses NUL in text: storing it would fail with a 500, retried forever.
        raise HTTPException(400, "NUL characters are not accepted")
    return dict(pairs)


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The raw body, read no further than `max_bytes` (413 beyond: a chunked body may lie)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
        raise HTTPException(413, f"body larger than {max_bytes} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise HTTPException(413, f"body larger than {max_bytes} bytes")
    return bytes(body)


def signed_url(public_url: str, request: Request) -> str:
    """The URL the provider signed: the public address, not the one we were reached at."""
    query = request.url.query
    return f"{public_url}{request.url.path}" + (f"?{query}" if query else "")

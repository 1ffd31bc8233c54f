"""Malformed and oversized webhooks: each gets a clear 4xx and leaves no trace."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import httpx

from tests.hostile.conftest import NO_TRACE, params, raw_request, signature, signed_post, trace
from tests.relay.conftest import Stack

FORM = "application/x-www-form-urlencoded"


def _oversized(stack: Stack) -> dict[str, str]:
    return params("SMbig", body="x" * (stack.settings.max_request_bytes + 1))


def test_a_signed_body_over_the_limit_with_content_length_gets_413(stack: Stack) -> None:
    """A validly signed webhook one byte too big is refused with 413 and stores nothing."""
    response = signed_post(stack, _oversized(stack))
    assert response.status_code == 413
    assert trace(stack) == NO_TRACE


def test_a_chunked_body_over_the_limit_gets_413(stack: Stack) -> None:
    """A signed, chunked webhook (no Content-Length) that grows past the limit gets 413."""
    form = _oversized(stack)
    url = f"{stack.relay_url}/twilio/messages"
    encoded = urlencode(form).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(encoded), 4096):
            yield encoded[start : start + 4096]

    headers = {"X-Twilio-Signature": signature(url, form), "Content-Type": FORM}
    response = httpx.post(url, content=chunks(), headers=headers, timeout=10)
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert trace(stack) == NO_TRACE


def test_a_huge_declared_content_length_gets_413_before_any_body(stack: Stack) -> None:
    """A Content-Length of a terabyte is refused at once, without reading the body."""
    head = (
        "POST /twilio/messages HTTP/1.1\r\nHost: relay\r\n"
        f"Content-Type: {FORM}\r\nContent-Length: {10**12}"
    )
    assert raw_request(stack.relay_url, head) == 413
    assert trace(stack) == NO_TRACE


def test_a_malformed_content_length_gets_400(stack: Stack) -> None:
    """A Content-Length that is not a number is a 400 from the HTTP layer, not a crash."""
    for bad in ("12abc", "-5", "²"):
        head = (
            "POST /twilio/messages HTTP/1.1\r\nHost: relay\r\n"
            f"Content-Type: {FORM}\r\nContent-Length: {bad}"
        )
        assert raw_request(stack.relay_url, head, b"Body=x") == 400, bad
    assert trace(stack) == NO_TRACE


def test_a_huge_num_media_gets_400(stack: Stack) -> None:
    """A signed message claiming a million (or a non-number of) media items gets 400."""
    for count in ("1000000", "9" * 400, "-1", "11", "0x10", "²", "١"):
        response = signed_post(stack, params(f"SMmedia{len(count)}", NumMedia=count))
        assert response.status_code == 400, (count, response.text)
    assert trace(stack) == NO_TRACE


def test_media_urls_that_are_not_http_get_400(stack: Stack) -> None:
    """A signed message whose media link is a file: or missing URL gets 400, nothing fetched."""
    for url in ("file:///etc/passwd", "", "ftp://example.com/x", "/etc/passwd"):
        form = params("SMmediaurl", NumMedia="1", MediaUrl0=url)
        assert signed_post(stack, form).status_code == 400, url
    assert trace(stack) == NO_TRACE


def test_invalid_utf8_gets_400(stack: Stack) -> None:
    """A body that is not UTF-8 (percent-encoded or raw) is refused with 400."""
    url = f"{stack.relay_url}/twilio/messages"
    for body in (b"Body=%ff%fe&MessageSid=SM1", b"Body=\xff\xfe&MessageSid=SM1", b"\xc3\x28=x"):
        headers = {"Content-Type": FORM, "X-Twilio-Signature": "x"}
        response = httpx.post(url, content=body, headers=headers, timeout=10)
        assert response.status_code == 400, body
        assert "UTF-8" in response.text
    assert trace(stack) == NO_TRACE


def test_ten_thousand_fields_get_400(stack: Stack) -> None:
    """A form of 10,000 fields (within the byte limit) is refused with 400."""
    body = "&".join(["a="] * 10_000).encode()
    assert len(body) < stack.settings.max_request_bytes
    headers = {"Content-Type": FORM}
    url = f"{stack.relay_url}/twilio/messages"
    response = httpx.post(url, content=body, headers=headers, timeout=10)
    assert response.status_code == 400
    assert trace(stack) == NO_TRACE


def test_other_content_types_get_415(stack: Stack) -> None:
    """JSON, multipart or no content type at all is refused with 415."""
    url = f"{stack.relay_url}/twilio/messages"
    assert httpx.post(url, json=params("SMjson"), timeout=10).status_code == 415
    assert httpx.post(url, files={"Body": b"x"}, timeout=10).status_code == 415
    assert httpx.post(url, content=b"Body=x", timeout=10).status_code == 415
    assert trace(stack) == NO_TRACE


def test_a_signed_message_without_a_valid_sender_or_sid_gets_400(stack: Stack) -> None:
    """A signed message with no MessageSid, an overlong one, or a bad From gets 400."""
    forms = [
        {k: v for k, v in params("SM1").items() if k != "MessageSid"},
        params("SM" + "a" * 100),
        params("SMfrom1", sender="not-a-number"),
        params("SMfrom2", sender="+" + "9" * 400),
        params("SMfrom3", sender="+1555\x00123"),
    ]
    for form in forms:
        assert signed_post(stack, form).status_code == 400, form
    assert trace(stack) == NO_TRACE


def test_nul_characters_get_400(stack: Stack) -> None:
    """A signed message or status callback carrying a NUL character gets 400, not a crash."""
    assert signed_post(stack, params("SMnul", body="a\x00b")).status_code == 400
    assert signed_post(stack, params("SMnul\x00")).status_code == 400
    status = {"MessageSid": "SM\x00", "MessageStatus": "read"}
    assert signed_post(stack, status, path="/twilio/status").status_code == 400
    assert trace(stack) == NO_TRACE

"""Forged, replayed and misdirected signatures, forged status callbacks, traversal in links."""

from __future__ import annotations

import time
from urllib.parse import quote

import httpx

from cockpit.media.signing import MediaSigner
from cockpit.store import outbox
from tests.hostile.conftest import NO_TRACE, params, raw_request, signature, signed_post, trace
from tests.live import wait_until
from tests.relay.conftest import ADA, Stack


def _one_echo(stack: Stack) -> None:
    """Send one signed message and wait until its single echo is delivered."""
    assert signed_post(stack, params("SMorig", "original")).status_code == 200
    stack.wait_received(1)
    wait_until(lambda: outbox.for_recipient(stack.db, ADA)[0].status == "read")


def test_a_replay_with_a_changed_body_gets_403(stack: Stack) -> None:
    """A captured signature replayed with another Body is refused and stores nothing new."""
    form = params("SMreplay", "pay 10")
    url = f"{stack.relay_url}/twilio/messages"
    headers = {"X-Twilio-Signature": signature(url, form)}
    tampered = form | {"Body": "pay 10000"}
    assert httpx.post(url, data=tampered, headers=headers, timeout=10).status_code == 403
    extra = form | {"MessageSid": "SMreplay2"}
    assert httpx.post(url, data=extra, headers=headers, timeout=10).status_code == 403
    assert trace(stack) == NO_TRACE


def test_an_identical_replay_is_answered_once(stack: Stack) -> None:
    """The same signed request sent again gets 200 but no second row and no second reply."""
    _one_echo(stack)
    before = trace(stack)
    assert signed_post(stack, params("SMorig", "original")).status_code == 200
    time.sleep(0.5)  # give a wrong second reply the chance to be queued and sent
    assert trace(stack) == before
    assert stack.bodies() == ["original"]


OTHER_URLS = [
    "https://{hostport}/twilio/messages", "http://evil.example/twilio/messages",
    "http://{hostport}/twilio/status", "http://{hostport}/twilio/messages?x=1",
]  # fmt: skip


def test_a_signature_for_another_url_gets_403(stack: Stack) -> None:
    """A signature computed for another scheme, host, path or query is refused."""
    hostport = stack.relay_url.removeprefix("http://")
    for signed_for in OTHER_URLS:
        url = signed_for.format(hostport=hostport)
        assert signed_post(stack, params("SMurl"), signed_for=url).status_code == 403, url
    assert trace(stack) == NO_TRACE


def test_a_signature_with_the_wrong_token_or_none_gets_403(stack: Stack) -> None:
    """No signature, an empty one, garbage, or one made with another auth token: 403."""
    url = f"{stack.relay_url}/twilio/messages"
    form = params("SMtoken")
    latin1 = "é".encode("latin-1") * 28  # header bytes that are no ASCII
    for sig in (None, b"", b"garbage", latin1, signature(url, form, token="another-token")):
        headers = {} if sig is None else {"X-Twilio-Signature": sig}
        response = httpx.post(url, data=form, headers=headers, timeout=10)
        assert response.status_code == 403, sig
    assert trace(stack) == NO_TRACE


def test_forged_status_callbacks_change_nothing(stack: Stack) -> None:
    """Unsigned or wrongly signed status callbacks get 403 and leave the outbox as it was."""
    _one_echo(stack)
    (row,) = outbox.for_recipient(stack.db, ADA)
    url = f"{stack.relay_url}/twilio/status?oid={row.id}"
    forged = {"MessageSid": row.provider_sid or "", "MessageStatus": "failed", "ErrorCode": "1"}
    wrong = {"X-Twilio-Signature": signature(url, forged, token="another-token")}
    assert httpx.post(url, data=forged, timeout=10).status_code == 403
    assert httpx.post(url, data=forged, headers=wrong, timeout=10).status_code == 403
    assert outbox.for_recipient(stack.db, ADA) == [row]


def test_a_signed_status_callback_with_strange_numbers_is_not_a_crash(stack: Stack) -> None:
    """A signed callback whose oid or ErrorCode is no plain small number still matches by sid."""
    _one_echo(stack)
    (row,) = outbox.for_recipient(stack.db, ADA)
    for oid in ("²", "١٢", "9" * 30, "2147483648", "-1", "1e9"):
        form = {"MessageSid": row.provider_sid or "", "MessageStatus": "read", "ErrorCode": oid}
        response = signed_post(stack, form, path=f"/twilio/status?oid={quote(oid)}")
        assert response.status_code == 200, oid
    assert outbox.for_recipient(stack.db, ADA)[0].status == "read"


TRAVERSALS = [
    "/media/../../etc/passwd", "/media/..%2F..%2Fetc%2Fpasswd",
    "/media/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/media/..%252F..%252Fetc%252Fpasswd",
    "/media/..\\..\\etc\\passwd", "/media/%00", "/media/..", "/media/%2e%2e",
    "/full/../../etc/passwd", "/full/..%2F..%2Fetc%2Fpasswd",
]  # fmt: skip


def test_path_traversal_in_media_links_gets_404(stack: Stack) -> None:
    """Dot segments and encoded slashes in a media or answer link never reach a file."""
    for path in TRAVERSALS:
        assert raw_request(stack.relay_url, f"GET {path} HTTP/1.1\r\nHost: relay") == 404, path
    for odd in ("/media/" + "A" * 60_000, "/full/" + "%" * 1000):  # huge, or broken escapes
        assert raw_request(stack.relay_url, f"GET {odd} HTTP/1.1\r\nHost: relay") in (400, 404)


def test_a_validly_signed_token_naming_a_path_gets_404(stack: Stack) -> None:
    """Even a correctly signed token whose value is a path is refused: ids are checked too."""
    signer = MediaSigner("test-secret-key", 3600)
    for value in ("../../etc/passwd", "/etc/passwd", "..", "0" * 31 + "/"):
        response = httpx.get(f"{stack.relay_url}/media/{signer.token(value)}", timeout=10)
        assert response.status_code == 404, value
        assert "root:" not in response.text

"""Downloading an inbound `MediaUrl` without handing out credentials or reaching inside.

A webhook's `MediaUrl` is only a string in a signed form; whoever can get a URL into it
must not make the relay send its Twilio credentials elsewhere, nor fetch its own
network (loopback, private ranges, the cloud's link-local metadata service) for them.

* The account's Basic credentials go only with a URL under the media base
  (`TWILIO_MEDIA_BASE_URL`, by default `TWILIO_API_BASE_URL`) and its account's path
  `/2010-04-01/Accounts/<sid>/`: Twilio's own media URLs, or the simulator's in local mode.
* Any other URL, and every redirect hop, goes without credentials, and only to the media
  base's own origin or to public addresses: each host is resolved, every address must be
  global, and the connection goes to the address that was checked (no DNS rebinding).
* At most `MAX_REDIRECTS` redirects are followed, by hand.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import urljoin

import httpx

from cockpit.errors import MediaError

MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def is_public_address(address: str) -> bool:
    """Whether `address` (an IP literal) is a global unicast address, not one of ours."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class MediaPolicy:
    """Where credentials may go (`base` + the account's path) and which origin is ours."""

    base: httpx.URL
    account_sid: str
    auth_token: str = field(repr=False)

    def credentialed(self, url: httpx.URL) -> bool:
        """Whether `url` is one of the account's media URLs under the media base."""
        prefix = f"{self.base.path.rstrip('/')}/2010-04-01/Accounts/{self.account_sid}/"
        return self.same_origin(url) and url.path.startswith(prefix)

    def same_origin(self, url: httpx.URL) -> bool:
        return (url.scheme, url.host, url.port) == (
            self.base.scheme,
            self.base.host,
            self.base.port,
        )


async def _public_address(url: httpx.URL) -> str:
    """An address of `url`'s host after checking that every one it resolves to is public."""
    port = url.port or (443 if url.scheme == "https" else 80)
    loop = asyncio.get_running_loop()
    try:
        found = await loop.getaddrinfo(url.host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise MediaError(f"cannot resolve the media host {url.host!r}") from exc
    addresses = [str(info[4][0]) for info in found]
    if not addresses or not all(is_public_address(a) for a in addresses):
        raise MediaError(f"media host {url.host!r} is not a public address; refused")
    return addresses[0]


async def _request(client: httpx.AsyncClient, policy: MediaPolicy, url: httpx.URL) -> httpx.Request:
    """The GET of one hop: plain to our own origin, else pinned to a checked public address."""
    if url.scheme not in ("http", "https") or not url.host:
        raise MediaError("media URL is not http(s)")
    if policy.same_origin(url):
        return client.build_request("GET", url)
    address = await _public_address(url)
    pinned = url.copy_with(host=address)
    extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
    return client.build_request("GET", pinned, headers={"Host": url.netloc.decode()},
                                extensions=extensions)  # fmt: skip


async def fetch_media(
    client: httpx.AsyncClient, policy: MediaPolicy, url: str, max_bytes: int
) -> tuple[bytes, str]:
    """The bytes and content type at `url`, following the rules above; MediaError else.

    `client` must carry no credentials and follow no redirects: both are done here."""
    current, first = httpx.URL(url), True
    for _ in range(MAX_REDIRECTS + 1):
        request = await _request(client, policy, current)
        auth = None
        if first and policy.credentialed(current):
            auth = httpx.BasicAuth(policy.account_sid, policy.auth_token)
        try:
            response = await client.send(request, stream=True, auth=auth)
        except httpx.HTTPError as exc:
            raise MediaError(f"cannot download media: {type(exc).__name__}") from exc
        try:
            if response.status_code in _REDIRECTS and "location" in response.headers:
                current = httpx.URL(urljoin(str(current), response.headers["location"]))
                first = False
                continue
            return await _body(response, max_bytes)
        finally:
            await response.aclose()
    raise MediaError(f"media download redirected more than {MAX_REDIRECTS} times")


async def _body(response: httpx.Response, max_bytes: int) -> tuple[bytes, str]:
    if response.status_code != 200:
        raise MediaError(f"media download answered {response.status_code}")
    data = bytearray()
    try:
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) > max_bytes:
                raise MediaError("media is larger than we accept")
    except httpx.HTTPError as exc:
        raise MediaError(f"cannot download media: {type(exc).__name__}") from exc
    kind = response.headers.get("content-type", "application/octet-stream")
    return bytes(data), kind.split(";")[0].strip()

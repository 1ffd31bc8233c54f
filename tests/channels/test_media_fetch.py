"""Inbound MediaUrls: Twilio's credentials only for Twilio's media, nothing from inside."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse

from cockpit.channels.media_fetch import is_public_address
from cockpit.channels.twilio import TwilioChannel
from cockpit.errors import MediaError
from tests.live import serve

ACCOUNT, TOKEN = "AC" + "1" * 32, "auth-token-0001"
MEDIA = f"/2010-04-01/Accounts/{ACCOUNT}/Messages/MM1/Media"


@dataclass
class Server:
    """A loopback server that records the Authorization header of every request."""

    url: str = ""
    seen: dict[str, str | None] = field(default_factory=dict)
    app: FastAPI = field(default_factory=FastAPI)

    def __post_init__(self) -> None:
        @self.app.get("/{path:path}")
        async def anything(path: str, request: Request) -> Response:
            self.seen["/" + path] = request.headers.get("authorization")
            if path.startswith("go/"):
                return RedirectResponse(request.query_params["to"], status_code=307)
            return Response(b"\x89PNG fake", media_type="image/png")


@pytest.fixture(scope="module")
def twilio() -> Iterator[Server]:
    """The stand-in for Twilio's API host (TWILIO_API_BASE_URL)."""
    server = Server()
    with serve(server.app) as url:
        server.url = url
        yield server


@pytest.fixture(scope="module")
def inside() -> Iterator[Server]:
    """Another service on this machine, like the relay's own /metrics or a database admin."""
    server = Server()
    with serve(server.app) as url:
        server.url = url
        yield server


@pytest.fixture
async def channel(twilio: Server) -> AsyncIterator[TwilioChannel]:
    """The Twilio channel of the relay, its API (and media base) at the stand-in."""
    made = TwilioChannel(account_sid=ACCOUNT, auth_token=TOKEN, from_="+14155238886",
                         base_url=twilio.url, timeout=5)  # fmt: skip
    yield made
    await made.aclose()


async def test_twilio_media_urls_get_the_credentials(
    channel: TwilioChannel, twilio: Server
) -> None:
    """The account's own media URL is fetched with Basic credentials, as Twilio may require."""
    data, kind = await channel.fetch_media(f"{twilio.url}{MEDIA}/ME1", 1000)
    assert (data, kind) == (b"\x89PNG fake", "image/png")
    assert (twilio.seen[f"{MEDIA}/ME1"] or "").startswith("Basic ")


async def test_a_redirect_never_carries_the_credentials(
    channel: TwilioChannel, twilio: Server
) -> None:
    """Twilio's media answers with a redirect to its CDN: the next hop gets no credentials."""
    start = f"{twilio.url}/go{MEDIA}/ME2?to={twilio.url}/cdn/blob"
    data, _ = await channel.fetch_media(start, 1000)
    assert data == b"\x89PNG fake" and twilio.seen["/cdn/blob"] is None
    assert twilio.seen[f"/go{MEDIA}/ME2"] is None  # /go… is not under the account's path


async def test_another_account_path_on_the_host_gets_no_credentials(
    channel: TwilioChannel, twilio: Server
) -> None:
    """Only the configured account's path is Twilio's media: other paths go without them."""
    await channel.fetch_media(f"{twilio.url}/2010-04-01/Accounts/ACother/Media/ME3", 1000)
    await channel.fetch_media(f"{twilio.url}/metrics", 1000)
    assert twilio.seen["/2010-04-01/Accounts/ACother/Media/ME3"] is None
    assert twilio.seen["/metrics"] is None


async def test_services_on_this_machine_are_refused_unasked(
    channel: TwilioChannel, twilio: Server, inside: Server
) -> None:
    """Loopback under any name, directly or through a redirect, is refused before any
    request reaches it."""
    port = inside.url.rsplit(":", 1)[1]
    for url in (f"{inside.url}/metrics", f"http://localhost:{port}/metrics"):
        with pytest.raises(MediaError, match="not a public address"):
            await channel.fetch_media(url, 1000)
    bounce = f"{twilio.url}/go{MEDIA}/ME5?to=http://localhost:{port}/admin"
    with pytest.raises(MediaError, match="not a public address"):
        await channel.fetch_media(bounce, 1000)
    assert inside.seen == {}


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
        "http://10.0.0.7/", "http://192.168.1.1/", "http://100.64.0.1/",
        "http://[::1]:8000/", "http://[fd00::1]/", "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0:8000/",
    ],
)  # fmt: skip
async def test_private_and_link_local_addresses_are_refused(
    channel: TwilioChannel, url: str
) -> None:
    """Private, shared, link-local, loopback and unspecified addresses never get a request."""
    with pytest.raises(MediaError, match="not a public address"):
        await channel.fetch_media(url, 1000)
    with pytest.raises(MediaError, match="not http"):
        await channel.fetch_media("ftp://example.com/x", 1000)


def test_public_addresses_are_the_global_ones() -> None:
    """Only global unicast addresses count as public."""
    assert is_public_address("8.8.8.8") and is_public_address("2606:4700::1111")
    for private in ("127.0.0.1", "10.1.2.3", "172.16.0.1", "169.254.169.254", "::1",
                    "fe80::1", "224.0.0.1", "::ffff:10.0.0.1", "100.64.1.1"):  # fmt: skip
        assert not is_public_address(private), private

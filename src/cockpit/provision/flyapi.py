"""A small client of Fly.io's Machines REST API: requests, retries, and Fly's errors in words.

Fly answers errors as ``{"error": "..."}`` with a conventional status. This module is
where those statuses become the cockpit's own errors (`FlyAPIError`, `FlyNotFound`),
each with a sentence for the operator (``str(exc)``: what happened and what to change)
and one for the user (``exc.user_message``). Neither ever holds the token.

Retries, as Fly documents what is safe:
- 429 (rate limits are per action and machine, 1 request/s with bursts of 3): the
  request was refused, not done, so it is sent again after ``Retry-After`` or a backoff;
- 5xx and network errors: requests that are idempotent (GET, DELETE, start, stop, wait)
  are sent again; a create is left to the caller, which looks the result up first
  (the request may have created the machine before the answer was lost);
- 412 ``failed_precondition`` (a machine still stopping, or leased by a deploy):
  left to the caller, which reads the machine's state and acts on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from cockpit.core.backoff import retry_delay
from cockpit.errors import ProvisionError
from cockpit.log import get_logger

log = get_logger(__name__)

Sleep = Callable[[float], Awaitable[None]]
_IDEMPOTENT_POSTS = ("/start", "/stop", "/lease")


class FlyAPIError(ProvisionError):
    """Fly's Machines API refused a request; `str()` is for the operator."""

    def __init__(self, message: str, *, status: int | None, fly_error: str, user_message: str):
        super().__init__(message)
        self.status = status
        self.fly_error = fly_error
        self.user_message = user_message


class FlyNotFound(FlyAPIError):
    """The machine, volume or app named in the request does not exist (404)."""


class FlyRetryable(FlyAPIError):
    """A 5xx, network error or 412 that a caller may resolve by looking and trying again."""


# Clauses, as the relay shows them in "couldn't pass it on yet (...)".
_USER_BUSY = "your workspace's server is busy at our hosting provider"
_USER_OURS = "your workspace could not be started because of a problem on our side, not yours"


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    body: Any = None
    params: Mapping[str, str] | None = None

    @property
    def idempotent(self) -> bool:
        return self.method != "POST" or self.path.endswith(_IDEMPOTENT_POSTS)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


class FlyClient:
    """Calls Fly's Machines API for one app with one token."""

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        app: str,
        timeout: float = 30.0,
        attempts: int = 5,
        backoff_base: float = 0.5,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """`attempts` bounds tries of one request; `sleep` is replaced in tests."""
        self.app = app
        self._attempts = attempts
        self._backoff_base = backoff_base
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": authorization(token)},
            # /wait blocks up to 60 s on Fly's side; leave room for it.
            timeout=httpx.Timeout(timeout, read=max(timeout, 70.0)),
        )

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        """Send one request to /v1/apps/<app><path>; its JSON answer (None when empty)."""
        request = _Request(method, f"/v1/apps/{self.app}{path}", body, params)
        for attempt in range(1, self._attempts + 1):
            try:
                return await self._send(request)
            except _TryAgain as again:
                if attempt == self._attempts:
                    raise again.error from None
                delay = retry_delay(
                    attempt, base=self._backoff_base, cap=10.0, retry_after=again.retry_after
                )
                log.warning(
                    "fly.retry", request=str(request), status=again.error.status, delay=delay
                )
                await self._sleep(delay)
        raise AssertionError("unreachable")

    async def _send(self, request: _Request) -> Any:
        try:
            response = await self._http.request(
                request.method, request.path, json=request.body, params=request.params
            )
        except httpx.TransportError as exc:
            network = _network_error(request, exc)
            if request.idempotent or isinstance(exc, httpx.ConnectError):
                raise _TryAgain(network) from exc
            raise network from exc
        if response.status_code < 300:
            return response.json() if response.content else None
        error = translate(request, response, self.app)
        if response.status_code == 429 or (response.status_code >= 500 and request.idempotent):
            raise _TryAgain(error, _retry_after(response))
        raise error


def authorization(token: str) -> str:
    """The Authorization header for `token`, as flyctl sends it.

    Tokens from `fly tokens create` are macaroons (`FlyV1 fm2_…`) and go with the
    `FlyV1` scheme; older personal tokens (`fly auth token`) with `Bearer`. The token
    may be pasted with or without its scheme.
    """
    bare = token.strip()
    scheme, _, rest = bare.partition(" ")
    if rest and scheme.lower() in ("bearer", "flyv1"):
        bare = rest.strip()
    macaroon = bare.split("_", 1)[0] in ("fm1r", "fm1a", "fm2")
    return f"FlyV1 {bare}" if macaroon else f"Bearer {bare}"


class _TryAgain(Exception):
    def __init__(self, error: FlyAPIError, retry_after: float | None = None):
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return min(30.0, max(0.0, float(response.headers["retry-after"])))
    except (KeyError, ValueError):
        return None


def _fly_error(response: httpx.Response) -> str:
    """Fly's own words: the `error` field of its JSON body, else the raw text."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300]
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return response.text.strip()[:300]


def _network_error(request: _Request, exc: httpx.TransportError) -> FlyRetryable:
    return FlyRetryable(
        f"Fly.io's Machines API could not be reached for {request} ({type(exc).__name__}); "
        "check the relay's network and FLY_API_BASE_URL.",
        status=None,
        fly_error=type(exc).__name__,
        user_message=_USER_OURS,
    )


def translate(request: _Request, response: httpx.Response, app: str) -> FlyAPIError:
    """Fly's answer to `request` as the cockpit's error, in plain words for both audiences."""
    status, said = response.status_code, _fly_error(response)
    where = f"Fly.io answered {status} to {request}: {said or '(no message)'}"
    if status == 401:
        return FlyAPIError(
            f"Fly.io did not accept the API token ({where}). Set FLY_API_TOKEN to a valid "
            f"token, e.g. `fly tokens create deploy -a {app}`.",
            status=status, fly_error=said, user_message=_USER_OURS,
        )  # fmt: skip
    if status == 403:
        return FlyAPIError(
            f"The Fly.io API token may not manage the app {app!r} ({where}). Use a token "
            f"made for that app: `fly tokens create deploy -a {app}`.",
            status=status, fly_error=said, user_message=_USER_OURS,
        )  # fmt: skip
    if status == 404:
        return FlyNotFound(
            f"Fly.io does not know this ({where}). If the app is missing, create it with "
            f"`fly apps create {app}` or fix FLY_APP.",
            status=status, fly_error=said, user_message=_USER_OURS,
        )  # fmt: skip
    if status == 429:
        return FlyRetryable(
            f"Fly.io's rate limit was hit and retries ran out ({where}).",
            status=status, fly_error=said, user_message=_USER_BUSY,
        )  # fmt: skip
    if status == 412 or status >= 500:
        return FlyRetryable(
            f"Fly.io could not do it now ({where}).",
            status=status, fly_error=said, user_message=_USER_BUSY,
        )  # fmt: skip
    return FlyAPIError(
        f"Fly.io refused the request ({where}). Check COCKPIT_HOST_IMAGE, COCKPIT_FLY_REGION "
        "and the COCKPIT_FLY_* sizes.",
        status=status, fly_error=said, user_message=_USER_OURS,
    )  # fmt: skip

"""The relay's HTTP client of one user's agent host (see docs/host.md)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from cockpit.errors import HostError, HostUnreachableError
from cockpit.provision.base import HostEndpoint

STREAM_SILENCE_SECONDS = 45.0
GIT_SECONDS = 150.0  # a fetch or push of a big repository; the host gives git 120 s


class HostClient:
    """Calls one host's API with its bearer token; failures become HostError."""

    def __init__(self, endpoint: HostEndpoint, *, timeout: float = 15.0):
        self.endpoint = endpoint
        self._client = httpx.AsyncClient(
            base_url=endpoint.url,
            headers={"Authorization": f"Bearer {endpoint.token}"},
            timeout=httpx.Timeout(timeout, connect=5.0),
        )

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise HostUnreachableError(f"host unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 400:
            error = HostError(f"host answered {response.status_code}: {response.text[:200]}",
                              status=response.status_code)  # fmt: skip
            error.detail = _detail(response)
            raise error
        return response.json() if response.content else None

    async def post_turn(
        self, turn_id: str, session: str, text: str, media: Sequence[tuple[str, str, bytes]] = ()
    ) -> dict[str, Any]:
        """Hand a message to the host; the same `turn_id` twice runs it once."""
        payload: dict[str, Any] = {"turn_id": turn_id, "session": session, "text": text}
        if media:
            payload["media"] = [
                {
                    "filename": name,
                    "content_type": kind,
                    "data_b64": base64.b64encode(data).decode(),
                }
                for name, kind, data in media
            ]
        result: dict[str, Any] = await self._call("POST", "/turns", json=payload)
        return result

    async def interrupt(self, turn_id: str) -> None:
        """Stop a running turn (or drop a queued one)."""
        await self._call("POST", f"/turns/{turn_id}/interrupt")

    async def cancel_queued(self, session: str) -> int:
        """Drop a session's queued turns; how many were dropped."""
        result = await self._call("POST", "/turns/cancel-queued", json={"session": session})
        return int(result.get("cancelled", 0))

    async def resolve_approval(self, approval_id: str, decision: str) -> None:
        """Answer an approval: allow, allow_session or deny."""
        await self._call("POST", f"/approvals/{approval_id}", json={"decision": decision})

    async def answer_question(self, question_id: str, answer: str) -> None:
        """Answer Claude's ask_user question."""
        await self._call("POST", f"/questions/{question_id}", json={"answer": answer})

    async def visuals_diff(
        self, query: str | None = None, *, require_match: bool = False, session: str = "main"
    ) -> dict[str, Any]:
        """Have the host send diff pictures (all changed files, or the one `query` names),
        as events of `session`.

        With `require_match`, nothing is sent unless `query` names a changed file; the
        answer's `matched` is then that file's path, or None.
        """
        body = {"query": query, "require_match": require_match, "session": session}
        result: dict[str, Any] = await self._call("POST", "/visuals/diff", json=body)
        return result

    async def visuals_screenshot(
        self,
        target: str | None = None,
        *,
        full_page: bool = False,
        session: str = "main",
        any_url: bool = False,
    ) -> dict[str, Any]:
        """Have the host send a mobile + desktop screenshot of `target` (default "/");
        `any_url` allows a URL off the host (a deployed app)."""
        body = {"target": target, "full_page": full_page, "session": session, "any_url": any_url}
        result: dict[str, Any] = await self._call("POST", "/visuals/screenshot", json=body)
        return result

    async def set_auto_visuals(self, enabled: bool) -> None:
        """Switch the host's automatic pictures after each turn on or off."""
        await self._call("POST", "/visuals/auto", json={"enabled": enabled})

    async def prepare_session(
        self, session: str, branch: str, token: str | None = None
    ) -> dict[str, Any]:
        """Make a new session's worktree start from `branch`, fetched with `token` if needed
        (no-op for an existing session)."""
        body = {"branch": branch, "token": token}
        path = f"/sessions/{session}"
        result: dict[str, Any] = await self._call("POST", path, json=body, timeout=GIT_SECONDS)
        return result

    async def warm(self, session: str) -> None:
        """Ask the host to start the session's Claude Code before its first message."""
        await self._call("POST", f"/sessions/{session}/warm")

    async def push(self, session: str, message: str, token: str | None) -> dict[str, Any]:
        """Commit the session's pending changes and push its branch (`cockpit/<session>`).

        Raises PushRefused (a HostError) with git's reason when the host could not push.
        """
        body = {"message": message, "token": token}
        path = f"/sessions/{session}/push"
        try:
            result: dict[str, Any] = await self._call("POST", path, json=body, timeout=GIT_SECONDS)
        except HostUnreachableError:
            raise
        except HostError as exc:
            raise PushRefused.from_error(exc) from None
        return result

    async def health(self) -> dict[str, Any]:
        """The host's state, branch and last commit."""
        result: dict[str, Any] = await self._call("GET", "/health")
        return result

    async def fetch_file(self, image_id: str) -> tuple[bytes, str]:
        """An image the host published, with its content type."""
        try:
            response = await self._client.get(f"/files/{image_id}")
        except httpx.HTTPError as exc:
            raise HostUnreachableError(f"host unreachable: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise HostError(f"file {image_id}: {response.status_code}", status=response.status_code)
        kind = response.headers.get("content-type", "application/octet-stream").split(";")[0]
        return response.content, kind

    async def events(self, after: int) -> AsyncIterator[tuple[int, dict[str, Any]]]:
        """Follow the host's event stream from after `after`: (seq, event) pairs."""
        headers = {"Last-Event-ID": str(after)}
        # The host pings every 15 s; three missed pings mean it hangs.
        timeout = httpx.Timeout(STREAM_SILENCE_SECONDS, connect=5.0)
        try:
            async with aconnect_sse(
                self._client, "GET", "/events", headers=headers, timeout=timeout
            ) as source:
                if source.response.status_code != 200:
                    raise HostError(f"events answered {source.response.status_code}",
                                    status=source.response.status_code)  # fmt: skip
                async for sse in source.aiter_sse():
                    if sse.id and sse.data:
                        yield int(sse.id), json.loads(sse.data)
        except httpx.HTTPError as exc:
            raise HostUnreachableError(f"event stream lost: {type(exc).__name__}") from exc

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


class PushRefused(HostError):
    """The host could not push: `reason` is no_remote, rejected, failed or no_worktree."""

    def __init__(self, reason: str, message: str, *, status: int | None = None):
        super().__init__(message, status=status)
        self.reason = reason

    @classmethod
    def from_error(cls, exc: HostError) -> PushRefused:
        detail = exc.detail
        if isinstance(detail, dict):
            return cls(str(detail.get("reason")), str(detail.get("message")), status=exc.status)
        reason = "no_worktree" if exc.status == 404 else "failed"
        return cls(reason, str(detail or exc), status=exc.status)


def _detail(response: httpx.Response) -> Any:
    """FastAPI's `detail` of an error answer (None when the body is not that)."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("detail") if isinstance(body, dict) else None

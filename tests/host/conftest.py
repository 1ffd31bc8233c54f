"""A real host on a free port (uvicorn in the test's loop), its client and an event reader."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from cockpit.config import Settings
from cockpit.host import create_host_app
from tests.fakes.anthropic import AnthropicFake, free_port

TOKEN = "host-token-for-tests"
Event = dict[str, Any]


async def parse_sse(response: httpx.Response) -> AsyncIterator[tuple[str | None, Event]]:
    """(id, data) of each Server-Sent Event of a streaming response; comments skipped."""
    event_id: str | None = None
    data: list[str] = []
    async for line in response.aiter_lines():
        if line.startswith("id:"):
            event_id = line[3:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and data:
            yield event_id, json.loads("\n".join(data))
            event_id, data = None, []


class EventReader:
    """Follows GET /events in the background and keeps every event it saw."""

    def __init__(self, client: httpx.AsyncClient, after: int = 0, last_event_id: str | None = None):
        self.events: list[Event] = []
        self.ids: list[str | None] = []
        self._client = client
        self._after = after
        self._last_event_id = last_event_id
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        headers = {"Last-Event-ID": self._last_event_id} if self._last_event_id else {}
        async with self._client.stream(
            "GET", f"/events?after={self._after}", headers=headers, timeout=None
        ) as response:
            response.raise_for_status()
            async for event_id, data in parse_sse(response):
                self.ids.append(event_id)
                self.events.append(data)

    def of(self, type_: str, turn_id: str | None = None) -> list[Event]:
        """Events of `type_` (of `turn_id`, if given)."""
        return [
            e
            for e in self.events
            if e["type"] == type_ and (turn_id is None or e["turn_id"] == turn_id)
        ]

    async def wait_for(self, pred: Callable[[Event], bool], within: float = 30) -> Event:
        """The first event matching `pred`, waiting for it up to `within` seconds."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for event in self.events:
                if pred(event):
                    return event
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.02)
        raise AssertionError(f"no matching event within {within}s; saw {self.events}")

    async def wait_type(self, type_: str, turn_id: str | None = None, within: float = 30) -> Event:
        """The first event of `type_` (of `turn_id`), waiting up to `within` seconds."""
        return await self.wait_for(
            lambda e: e["type"] == type_ and (turn_id is None or e["turn_id"] == turn_id), within
        )

    async def finished(self, turn_id: str, within: float = 30) -> Event:
        """The closing `result` or `error` event of a turn."""
        return await self.wait_for(
            lambda e: e["type"] in ("result", "error") and e["turn_id"] == turn_id, within
        )

    async def close(self) -> None:
        """Stop following."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class RunningHost:
    """A host app served by uvicorn on 127.0.0.1, with an authenticated client."""

    def __init__(self, settings: Settings, claude_env: dict[str, str]):
        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_host_app(settings, claude_env=claude_env)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", timeout_graceful_shutdown=2
        )
        self.server = uvicorn.Server(config)
        self.client = httpx.AsyncClient(
            base_url=self.url, timeout=30, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        self._task: asyncio.Task[None] | None = None
        self._readers: list[EventReader] = []

    @property
    def workspace(self) -> Path:
        """The host's git workspace."""
        return self.settings.data_dir.resolve() / "workspace"

    async def start(self) -> RunningHost:
        """Serve, and wait until the server accepts requests."""
        self._task = asyncio.create_task(self.server.serve())
        deadline = time.monotonic() + 15
        while not self.server.started:
            if self._task.done() or time.monotonic() > deadline:
                raise RuntimeError("the host did not start")
            await asyncio.sleep(0.02)
        return self

    def reader(self, after: int = 0, last_event_id: str | None = None) -> EventReader:
        """A new background reader of the event stream."""
        reader = EventReader(self.client, after, last_event_id)
        self._readers.append(reader)
        return reader

    async def turn(
        self, turn_id: str, text: str, session: str = "main", **extra: Any
    ) -> dict[str, Any]:
        """POST /turns; returns the JSON answer (asserting 202)."""
        response = await self.client.post(
            "/turns", json={"turn_id": turn_id, "session": session, "text": text, **extra}
        )
        assert response.status_code == 202, response.text
        body: dict[str, Any] = response.json()
        return body

    async def approve(self, approval_id: str, decision: str, reason: str | None = None) -> None:
        """POST /approvals/{id} with `decision` (asserting 200)."""
        response = await self.client.post(
            f"/approvals/{approval_id}", json={"decision": decision, "reason": reason}
        )
        assert response.status_code == 200, response.text

    async def stop(self) -> None:
        """Close readers and the client, then stop the server (runs the app's shutdown)."""
        for reader in self._readers:
            await reader.close()
        await self.client.aclose()
        self.server.should_exit = True
        if self._task is not None:
            await self._task


def host_settings(data_dir: Path, fake: AnthropicFake, **overrides: Any) -> Settings:
    """Settings of a test host talking to the Anthropic stand-in."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "host_token": TOKEN,
        "anthropic_api_key": "sk-test",
        "anthropic_base_url": fake.url,
        "approval_timeout_seconds": 60.0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
async def start_host(
    tmp_path: Path, anthropic_fake: AnthropicFake
) -> AsyncIterator[Callable[..., Any]]:
    """Start hosts on `tmp_path/host` (or another data dir); all are stopped at the end."""
    hosts: list[RunningHost] = []

    async def start(data_dir: Path | None = None, **overrides: Any) -> RunningHost:
        settings = host_settings(data_dir or tmp_path / "host", anthropic_fake, **overrides)
        host = await RunningHost(settings, {"CLAUDE_CODE_MAX_RETRIES": "0"}).start()
        hosts.append(host)
        return host

    yield start
    for host in hosts:
        if not host.server.should_exit:
            await host.stop()

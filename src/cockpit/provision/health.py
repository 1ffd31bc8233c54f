"""Waiting for a freshly started host to answer `GET /health`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx


async def wait_healthy(
    url: str, within: float, *, alive: Callable[[], bool] = lambda: True
) -> str | None:
    """Poll `url`/health until it answers 200; return None, or why it never did.

    Gives up early when `alive()` turns false (the process already exited).
    """
    deadline = time.monotonic() + within
    last = "no answer yet"
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if not alive():
                return "the host process exited"
            try:
                response = await client.get(f"{url}/health")
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}"
            else:
                if response.status_code == 200:
                    return None
                last = f"HTTP {response.status_code}"
            await asyncio.sleep(0.1)
    return f"no healthy answer within {within:g} s ({last})"

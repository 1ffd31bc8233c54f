"""HTTP endpoints for the relay's token-free visual commands (`/diff`, `/screenshot`, …).

The pictures are made in the background and arrive as `image` and `message`
events of session "main" under a turn id `visuals-<hex>`, so they reach the phone
in order with everything else; the endpoints answer at once with that id.

* `POST /visuals/diff {query?, require_match?}` → `202 {request_id, matched}`. With
  `require_match` and no changed file matching `query`: `200 {request_id: null,
  matched: null}`, and nothing is sent (the relay then hands the words to Claude).
* `POST /visuals/screenshot {target?, full_page?}` → `202 {request_id}`.
* `POST /visuals/auto {enabled}` → `200 {auto_visuals}` (also in `GET /health`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from cockpit.host.visual_changes import changed_paths
from cockpit.host.visual_jobs import diff_job, screenshot_job
from cockpit.host.visual_service import HostVisuals, new_request_id
from cockpit.host.visuals import VisualsError, match_file


class DiffIn(BaseModel):
    """Which diff to send: every changed file, or the one `query` names."""

    query: str | None = Field(default=None, max_length=500)
    require_match: bool = False


class ScreenshotIn(BaseModel):
    """What to photograph: a dev-server path or a loopback URL (default "/")."""

    target: str | None = Field(default=None, max_length=2000)
    full_page: bool = False


class AutoIn(BaseModel):
    """Automatic visuals after each turn: on or off."""

    enabled: bool


def add_visual_routes(app: FastAPI, auth: Any, visuals: HostVisuals) -> None:
    """Mount the /visuals endpoints (all behind the host's bearer token `auth`)."""

    @app.post("/visuals/diff", dependencies=[auth])
    async def diff(body: DiffIn) -> JSONResponse:
        query = (body.query or "").strip() or None
        matched = None
        if query and body.require_match:
            matched = await _match(visuals, query)
            if matched is None:
                return JSONResponse({"request_id": None, "matched": None})
        request_id = new_request_id()
        visuals.spawn(diff_job(visuals, request_id, matched or query))
        return JSONResponse({"request_id": request_id, "matched": matched}, status_code=202)

    @app.post("/visuals/screenshot", dependencies=[auth])
    async def screenshot(body: ScreenshotIn) -> JSONResponse:
        request_id = new_request_id()
        visuals.spawn(screenshot_job(visuals, request_id, body.target, body.full_page))
        return JSONResponse({"request_id": request_id}, status_code=202)

    @app.post("/visuals/auto", dependencies=[auth])
    async def auto(body: AutoIn) -> dict[str, Any]:
        visuals.set_auto(body.enabled)
        return {"auto_visuals": visuals.auto}


async def _match(visuals: HostVisuals, query: str) -> str | None:
    try:
        paths = await asyncio.to_thread(changed_paths, visuals.places.workspace)
    except VisualsError:
        return None
    return match_file(query, paths)

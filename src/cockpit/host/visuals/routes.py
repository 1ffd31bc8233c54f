"""HTTP endpoints for the relay's token-free visual commands (`/diff`, `/screenshot`, …).

The pictures are made in the background and arrive as `image` and `message`
events of the request's session (default "main") under a turn id
`visuals-<hex>`, so they reach the phone in order with everything else; the
endpoints answer at once with that id.

* `POST /visuals/diff {query?, require_match?, session?}` → `202 {request_id,
  matched}`. With `require_match` and no changed file matching `query`: `200
  {request_id: null, matched: null}`, and nothing is sent (the relay then hands
  the words to Claude).
* `POST /visuals/screenshot {target?, full_page?, session?, any_url?}` → `202 {request_id}`;
  `any_url` lets the target be any http(s) URL (a deployed app), not only loopback.
* `POST /visuals/auto {enabled}` → `200 {auto_visuals}` (also in `GET /health`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from cockpit.host.visuals import VisualsError, match_file
from cockpit.host.visuals.changes import changed_paths
from cockpit.host.visuals.jobs import diff_job, screenshot_job
from cockpit.host.visuals.service import HostVisuals, new_request_id
from cockpit.host.worktrees import BadSessionName


class DiffIn(BaseModel):
    """Which diff to send: every changed file, or the one `query` names."""

    query: str | None = Field(default=None, max_length=500)
    require_match: bool = False
    session: str = Field(default="main", min_length=1, max_length=100)


class ScreenshotIn(BaseModel):
    """What to photograph: a dev-server path or a loopback URL (default "/")."""

    target: str | None = Field(default=None, max_length=2000)
    full_page: bool = False
    session: str = Field(default="main", min_length=1, max_length=100)
    # A deployed app (GitHub's deployment_status) lives elsewhere: only the relay asks.
    any_url: bool = False


class AutoIn(BaseModel):
    """Automatic visuals after each turn: on or off."""

    enabled: bool


def add_visual_routes(app: FastAPI, auth: Any, visuals: HostVisuals) -> None:
    """Mount the /visuals endpoints (all behind the host's bearer token `auth`)."""

    @app.post("/visuals/diff", dependencies=[auth])
    async def diff(body: DiffIn) -> JSONResponse:
        folder = _folder(visuals, body.session)
        query = (body.query or "").strip() or None
        matched = None
        if query and body.require_match:
            matched = await _match(folder, query)
            if matched is None:
                return JSONResponse({"request_id": None, "matched": None})
        request_id = new_request_id()
        visuals.spawn(diff_job(visuals, request_id, body.session, matched or query))
        return JSONResponse({"request_id": request_id, "matched": matched}, status_code=202)

    @app.post("/visuals/screenshot", dependencies=[auth])
    async def screenshot(body: ScreenshotIn) -> JSONResponse:
        _folder(visuals, body.session)
        request_id = new_request_id()
        job = screenshot_job(
            visuals, request_id, body.session, body.target, body.full_page, any_url=body.any_url
        )
        visuals.spawn(job)
        return JSONResponse({"request_id": request_id}, status_code=202)

    @app.post("/visuals/auto", dependencies=[auth])
    async def auto(body: AutoIn) -> dict[str, Any]:
        visuals.set_auto(body.enabled)
        return {"auto_visuals": visuals.auto}


def _folder(visuals: HostVisuals, session: str) -> Path:
    """The session's own folder (its worktree, or the workspace); 400 for a bad name."""
    try:
        return visuals.places.folder(session)
    except BadSessionName:
        raise HTTPException(400, f"Bad session name {session!r}.") from None


async def _match(folder: Path, query: str) -> str | None:
    try:  # a session without a worktree yet fails here: nothing matches
        paths = await asyncio.to_thread(changed_paths, folder)
    except VisualsError:
        return None
    return match_file(query, paths)

"""`POST /sessions/{name}/push`: the host's half of `/pr` (see `push.py`).

Body `{"message": "...", "token": "..."}` (the token is used for this one push and
forgotten). Answers `200 {branch, commit, committed, remote_url}`; `404` when the
session has no folder yet, `409 {"detail": {"reason": "no_remote" | "rejected" |
"failed", "message": ...}}` when git could not push.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from cockpit.host.push import PushError, push_session
from cockpit.host.worktrees import BadSessionName, Worktrees
from cockpit.log import get_logger

log = get_logger(__name__)


class PushIn(BaseModel):
    """What to commit pending changes with, and the token to push with (not kept)."""

    message: str = Field(min_length=1, max_length=2000)
    token: str | None = Field(default=None, max_length=500)


def add_push_route(app: FastAPI, auth: Any, folders: Worktrees) -> None:
    """Mount POST /sessions/{name}/push behind the host's bearer token `auth`."""

    @app.post("/sessions/{name}/push", dependencies=[auth])
    async def push(name: str, body: PushIn) -> dict[str, Any]:
        try:
            folder = folders.folder(name)
        except BadSessionName:
            raise HTTPException(400, f"Bad session name {name!r}.") from None
        if not (folder / ".git").exists():
            raise HTTPException(404, f"Session {name!r} has no worktree yet.")
        try:
            pushed = await asyncio.to_thread(push_session, folder, name, body.message, body.token)
        except PushError as exc:
            log.warning("host.push_failed", session=name, reason=exc.reason)
            raise HTTPException(409, {"reason": exc.reason, "message": str(exc)}) from None
        log.info("host.pushed", session=name, branch=pushed.branch, commit=pushed.commit[:12])
        return pushed.__dict__

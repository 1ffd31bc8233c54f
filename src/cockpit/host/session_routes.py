"""Session endpoints the relay's GitHub commands use.

`POST /sessions/{name}` `{"branch": "feature-x", "token"?}` makes a new session's worktree
start from that branch (local, else `origin/<branch>` fetched with the token, else HEAD):
`{session, created, start}`.
`fix` uses it to work on the failing branch.

`POST /sessions/{name}/warm` (after `/new` or `/switch` on the phone) makes the session's
folder and starts its Claude Code in the background, so that the first message finds it
running: `202 {session}` at once; a failure is logged, and the first turn tries again.

`POST /sessions/{name}/push` `{"message": ..., "token": ...}` is the host's half of `/pr`
(see `push.py`; the token serves this one push and is forgotten). Answers `200 {branch,
commit, committed, remote_url}`; `404` when the session has no folder yet, `409
{"detail": {"reason": "no_remote" | "rejected" | "failed", "message": ...}}` when git
could not push.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from cockpit.host.push import PushError, push_session, start_point
from cockpit.host.worktrees import BadSessionName, WorktreeError, Worktrees
from cockpit.jobs import Jobs
from cockpit.log import get_logger

log = get_logger(__name__)


class SessionIn(BaseModel):
    """The branch a new session's worktree should start from (token: to fetch it, not kept)."""

    branch: str = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9._/-]+$")
    token: str | None = Field(default=None, max_length=500)


class PushIn(BaseModel):
    """What to commit pending changes with, and the token to push with (not kept)."""

    message: str = Field(min_length=1, max_length=2000)
    token: str | None = Field(default=None, max_length=500)


def add_session_routes(
    app: FastAPI,
    auth: Any,
    folders: Worktrees,
    warm: Callable[[str], Awaitable[bool]],
    jobs: Jobs,
) -> None:
    """Mount POST /sessions/{name}, /sessions/{name}/push and /sessions/{name}/warm behind
    the token `auth`; `warm` starts a session's Claude Code ahead of its first turn, as a
    job of `jobs` (the host's, which its stop cancels)."""

    @app.post("/sessions/{name}/warm", dependencies=[auth], status_code=202)
    async def warm_up(name: str) -> dict[str, Any]:
        _folder(folders, name)  # a bad name is refused now, not in the background

        async def start() -> None:
            try:
                started = await warm(name)
            except Exception as exc:  # the first turn makes the folder and connects again
                log.warning("host.warm_failed", session=name, error=str(exc)[:300])
                return
            log.info("host.warmed", session=name, started=started)

        jobs.spawn(f"warm-{name}", start())
        return {"session": name}

    @app.post("/sessions/{name}", dependencies=[auth])
    async def prepare(name: str, body: SessionIn) -> dict[str, Any]:
        _folder(folders, name)
        if folders.exists(name):
            return {"session": name, "created": False, "start": None}
        start = await asyncio.to_thread(start_point, folders.workspace, body.branch, body.token)
        try:
            await asyncio.to_thread(folders.ensure, name, start)
        except WorktreeError as exc:
            raise HTTPException(500, f"Could not make the session's worktree: {exc}") from None
        log.info("host.session_prepared", session=name, start=start)
        return {"session": name, "created": True, "start": start}

    @app.post("/sessions/{name}/push", dependencies=[auth])
    async def push(name: str, body: PushIn) -> dict[str, Any]:
        folder = _folder(folders, name)
        if not (folder / ".git").exists():
            raise HTTPException(404, f"Session {name!r} has no worktree yet.")
        try:
            pushed = await asyncio.to_thread(push_session, folder, name, body.message, body.token)
        except PushError as exc:
            log.warning("host.push_failed", session=name, reason=exc.reason)
            raise HTTPException(409, {"reason": exc.reason, "message": str(exc)}) from None
        log.info("host.pushed", session=name, branch=pushed.branch, commit=pushed.commit[:12])
        return pushed.__dict__


def _folder(folders: Worktrees, name: str) -> Path:
    try:
        return folders.folder(name)
    except BadSessionName:
        raise HTTPException(400, f"Bad session name {name!r}.") from None

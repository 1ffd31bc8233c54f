"""The agent host's HTTP API (`cockpit host`): turns in, events out.

Every endpoint but `/health` needs `Authorization: Bearer <COCKPIT_HOST_TOKEN>`;
`/health` without the token says only whether the host is idle or busy.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import shutil
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import uvicorn
from fastapi import Depends, FastAPI, Header, HTTPException
from fastapi.responses import FileResponse, JSONResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, Field

from cockpit.config import Settings
from cockpit.host import workspace as ws
from cockpit.host.body_limit import MAX_BODY_BYTES, BodyLimit
from cockpit.host.db import HostDB
from cockpit.host.events import EventLog
from cockpit.host.orphan import RelayContact, RelayWatch
from cockpit.host.parts import HostParts
from cockpit.host.phone_tools import PhoneToolFactory
from cockpit.host.runner import Runner, UnknownTurn
from cockpit.host.session_routes import add_session_routes
from cockpit.host.visuals.jobs import AutoVisuals
from cockpit.host.visuals.routes import add_visual_routes
from cockpit.host.visuals.service import HostPlaces, HostVisuals
from cockpit.host.visuals.tools import visual_tools
from cockpit.host.voice_notes import VoiceNotes
from cockpit.host.waits import AlreadyResolved, Decision, UnknownWait, Waits
from cockpit.host.worktrees import BadSessionName, WorktreeError, Worktrees, check_name
from cockpit.jobs import Jobs
from cockpit.log import get_logger
from cockpit.voice import Hearing

log = get_logger(__name__)


class MediaIn(BaseModel):
    """A file sent with a message."""

    filename: str
    content_type: str = "application/octet-stream"
    data_b64: str


class TurnIn(BaseModel):
    """A message from the phone to Claude."""

    turn_id: str = Field(min_length=1, max_length=200)
    session: str = "main"  # checked by `session_name`: a bad one is refused with 400
    text: str
    reply_to: str | None = None
    media: list[MediaIn] = Field(default_factory=list)


class CancelIn(BaseModel):
    """Which session's queued turns to drop."""

    session: str = "main"


class DecisionIn(BaseModel):
    """The user's answer to an approval request."""

    decision: Decision
    reason: str | None = None


class AnswerIn(BaseModel):
    """The user's answer to a question of Claude."""

    answer: str


def workspace_path(settings: Settings) -> Path:
    """The host's git workspace: COCKPIT_WORKSPACE or COCKPIT_DATA_DIR/workspace."""
    return (settings.workspace or settings.data_dir / "workspace").resolve()


def _claude_env(settings: Settings) -> dict[str, str]:
    """Environment for Claude Code that comes from the host's own settings."""
    if settings.claude_max_retries is None:
        return {}
    return {"CLAUDE_CODE_MAX_RETRIES": str(settings.claude_max_retries)}


def create_host_app(
    settings: Settings,
    *,
    phone_tools: Sequence[PhoneToolFactory] = (),
    claude_env: dict[str, str] | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> FastAPI:
    """The host's FastAPI app: one per user, on its own data folder and workspace.

    `phone_tools` adds tools to Claude's "phone" MCP server (see `phone_tools.py`) next to
    the built-in ones and the visual ones (`screenshot`, `show_diff`, always there);
    `claude_env` adds environment variables for Claude Code (e.g. CLAUDE_CODE_MAX_RETRIES);
    a request body over `max_body_bytes` gets 413.
    """
    settings.require("host_token")
    assert settings.host_token is not None
    token = settings.host_token.get_secret_value()
    data_dir = settings.data_dir.resolve()
    workspace = workspace_path(settings)
    git_token = settings.git_token.get_secret_value() if settings.git_token else None
    if ws.ensure_repo(workspace, settings.repo_url, git_token, keep_old=data_dir / "previous"):
        shutil.rmtree(data_dir / "worktrees", ignore_errors=True)  # they belonged to the old one
    db = HostDB(data_dir / "host.db")
    events = EventLog(db)
    waits = Waits(db, events, settings.approval_timeout_seconds)
    folders = Worktrees(workspace, data_dir / "worktrees")
    places = HostPlaces(settings, db, events, waits, workspace, data_dir, folders=folders)
    visuals = HostVisuals(places)
    auto = AutoVisuals(visuals)
    voice = VoiceNotes(
        Hearing(settings.transcriber, settings.whisper_model, data_dir),
        events,
        settings.voice_max_seconds,
    )
    runner = Runner(
        HostParts(
            settings,
            db,
            events,
            waits,
            workspace,
            data_dir / "files",
            data_dir / "home",
            (*visual_tools(visuals, auto), *phone_tools),
            _claude_env(settings) | dict(claude_env or {}),
            observers=(auto,),
            folders=folders,
            preparer=voice,
        )
    )

    # Told in /health: a new boot id tells the relay the host restarted, `restart_cut`
    # whether a turn was cut by it (that turn's failure then carries the news).
    boot = {"boot": secrets.token_hex(8), "restart_cut": 0}
    jobs = Jobs()  # the host's one-off jobs: sessions' warm-ups

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        boot["restart_cut"] = runner.recover()
        log.info("host.started", workspace=str(workspace))
        yield
        # First: a warm-up still making its folder must not start a client after the pool
        # closed; a start it already handed to the pool is waited for by `runner.close()`.
        await jobs.aclose()
        events.close()
        await runner.close()
        voice.close()
        await visuals.close()
        db.close()

    # No /docs or /openapi.json: only /health answers without the token.
    app = FastAPI(
        title="cockpit host", lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None
    )
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    watch = RelayWatch(settings.host_orphan_seconds)
    app.add_middleware(RelayContact, is_relay=lambda header: token_ok(token, header), watch=watch)
    app.state.relay_watch = watch
    app.state.runner = runner
    _routes(app, token, db, events, waits, runner, folders)
    add_visual_routes(app, _auth(token), visuals)
    add_session_routes(app, _auth(token), folders, runner.warm, jobs)
    _status_routes(app, token, runner, folders, visuals, boot)
    return app


def token_ok(token: str, authorization: str | None) -> bool:
    """True if the Authorization header carries exactly `Bearer <token>`."""
    if not authorization or not authorization.startswith("Bearer "):
        return False
    given = authorization.removeprefix("Bearer ").strip()
    return secrets.compare_digest(given.encode(), token.encode())


def _auth(token: str) -> Any:
    async def require_token(authorization: Annotated[str | None, Header()] = None) -> None:
        if not token_ok(token, authorization):
            raise HTTPException(
                401, "A valid bearer token is required.", headers={"WWW-Authenticate": "Bearer"}
            )

    return Depends(require_token)


def _routes(
    app: FastAPI,
    token: str,
    db: HostDB,
    events: EventLog,
    waits: Waits,
    runner: Runner,
    folders: Worktrees,
) -> None:
    auth = _auth(token)
    _turn_routes(app, auth, db, events, runner, folders)
    _wait_routes(app, auth, waits)
    _event_routes(app, auth, db, events)


def _turn_routes(
    app: FastAPI, auth: Any, db: HostDB, events: EventLog, runner: Runner, folders: Worktrees
) -> None:
    @app.post("/turns", status_code=202, dependencies=[auth])
    async def post_turn(body: TurnIn) -> dict[str, Any]:
        existing = db.get_turn(body.turn_id)
        if existing is not None:
            return _turn_answer(
                existing.turn_id,
                existing.state,
                runner.position(existing.turn_id, existing.session),
            )
        session_name(body.session)
        media = await _save_media(folders, body) if body.media else []
        db.insert_turn(body.turn_id, body.session, body.text, body.reply_to, media)
        position = runner.ahead(body.session)
        events.emit("ack", body.turn_id, body.session, queued=position > 0, position=position)
        runner.submit(body.turn_id, body.session)
        return _turn_answer(body.turn_id, "queued" if position else "running", position)

    @app.get("/turns/{turn_id}", dependencies=[auth])
    async def get_turn(turn_id: str) -> dict[str, Any]:
        turn = db.get_turn(turn_id)
        if turn is None:
            raise HTTPException(404, "No such turn.")
        return turn.as_dict()

    @app.post("/turns/cancel-queued", dependencies=[auth])
    async def cancel_queued(body: CancelIn) -> dict[str, Any]:
        session_name(body.session)
        return {"session": body.session, "cancelled": runner.cancel_queued(body.session)}

    @app.post("/turns/{turn_id}/interrupt", dependencies=[auth])
    async def interrupt(turn_id: str) -> dict[str, Any]:
        try:
            state = await runner.interrupt(turn_id)
        except UnknownTurn:
            raise HTTPException(404, "No such turn.") from None
        return {"turn_id": turn_id, "state": state}


def _turn_answer(turn_id: str, state: str, position: int) -> dict[str, Any]:
    return {"turn_id": turn_id, "state": state, "position": position}


def session_name(name: str) -> str:
    """`name` if it is a valid session name; otherwise the request fails with 400."""
    try:
        return check_name(name)
    except BadSessionName:
        raise HTTPException(
            400, f"Bad session name {name!r}: use up to 32 letters a-z, digits or dashes."
        ) from None


async def _save_media(folders: Worktrees, body: TurnIn) -> list[dict[str, str]]:
    """Store the turn's files in its session's folder (made now if it is new)."""
    _check_media(body)
    try:
        folder = await asyncio.to_thread(folders.ensure, body.session)
    except WorktreeError as exc:
        raise HTTPException(500, f"Could not make the session's worktree: {exc}") from None
    saved = []
    for item in body.media:
        try:
            path = ws.save_media(folder, body.turn_id, item.filename, item.data_b64)
        except ws.UnsafeName:
            raise HTTPException(400, f"Unsafe file name: {item.filename!r}") from None
        except ValueError:
            raise HTTPException(400, f"{item.filename!r} is not valid base64.") from None
        saved.append(
            {
                "filename": item.filename,
                "content_type": item.content_type,
                "path": str(path.relative_to(folder)),
            }
        )
    return saved


def _check_media(body: TurnIn) -> None:
    """Refuse the whole turn (400) before anything is written if any attachment is bad."""
    for item in body.media:
        try:
            ws.safe_name(body.turn_id)
            ws.safe_name(item.filename)
            base64.b64decode(item.data_b64, validate=True)
        except ws.UnsafeName as exc:
            raise HTTPException(400, f"Unsafe file name: {str(exc)!r}") from None
        except ValueError:
            raise HTTPException(400, f"{item.filename!r} is not valid base64.") from None


def _wait_routes(app: FastAPI, auth: Any, waits: Waits) -> None:
    @app.post("/approvals/{approval_id}", dependencies=[auth])
    async def resolve_approval(approval_id: str, body: DecisionIn) -> dict[str, Any]:
        try:
            waits.resolve_approval(approval_id, body.decision, body.reason or "")
        except UnknownWait:
            raise HTTPException(404, "No such approval.") from None
        except AlreadyResolved:
            raise HTTPException(409, "This approval was already resolved.") from None
        return {"approval_id": approval_id, "decision": body.decision}

    @app.post("/questions/{question_id}", dependencies=[auth])
    async def answer_question(question_id: str, body: AnswerIn) -> dict[str, Any]:
        try:
            waits.answer_question(question_id, body.answer)
        except UnknownWait:
            raise HTTPException(404, "No such question.") from None
        except AlreadyResolved:
            raise HTTPException(409, "This question was already answered.") from None
        return {"question_id": question_id, "answer": body.answer}


def _event_routes(app: FastAPI, auth: Any, db: HostDB, events: EventLog) -> None:
    @app.get("/events", response_class=EventSourceResponse, dependencies=[auth])
    async def stream(
        after: int = 0, last_event_id: Annotated[str | None, Header()] = None
    ) -> AsyncIterator[ServerSentEvent]:
        start = int(last_event_id) if last_event_id and last_event_id.isdigit() else after
        async for event in events.follow(start):
            yield ServerSentEvent(id=str(event.seq), event=event.type, data=event.as_dict())

    @app.get("/files/{image_id}", dependencies=[auth])
    async def get_file(image_id: str) -> FileResponse:
        found = db.get_file(image_id)
        if found is None or not found[0].is_file():
            raise HTTPException(404, "No such file.")
        path, content_type, filename = found
        return FileResponse(path, media_type=content_type, filename=filename)


def _status_routes(
    app: FastAPI,
    token: str,
    runner: Runner,
    folders: Worktrees,
    visuals: HostVisuals,
    boot: dict[str, Any],
) -> None:
    @app.get("/health")
    async def health(authorization: Annotated[str | None, Header()] = None) -> JSONResponse:
        status = runner.status()
        if not token_ok(token, authorization):
            return JSONResponse({"state": status["state"]})
        sessions: dict[str, dict[str, Any]] = status["sessions"]
        branches = await asyncio.to_thread(folders.branches, list(sessions))
        for name, branch in branches.items():
            sessions[name]["branch"] = branch
        commits = await asyncio.to_thread(_session_commits, folders, list(sessions))
        for name, commit in commits.items():
            sessions[name]["last_commit"] = commit
        git = await asyncio.to_thread(ws.git_info, folders.workspace)
        return JSONResponse({**status, **git, **visuals.status(), **boot})


def _session_commits(folders: Worktrees, names: list[str]) -> dict[str, object]:
    """The last commit (sha, subject) of each session's own folder that exists."""
    found: dict[str, object] = {}
    for name in names:
        try:
            folder = folders.folder(name)
        except ValueError:  # BadSessionName: not a folder of ours
            continue
        if folder.is_dir():
            found[name] = ws.git_info(folder)["last_commit"]
    return found


async def serve_host(settings: Settings, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the host app under uvicorn until it is told to stop (SIGTERM/SIGINT), or until
    no relay has been in touch for COCKPIT_HOST_ORPHAN_SECONDS (see `orphan.py`)."""
    app = create_host_app(settings)
    config = uvicorn.Config(
        app, host=host, port=port, timeout_graceful_shutdown=5, log_level="warning"
    )
    server = uvicorn.Server(config)
    watch: RelayWatch = app.state.relay_watch

    async def stop_when_orphaned() -> None:
        await watch.wait_orphaned()
        server.should_exit = True

    orphan = asyncio.create_task(stop_when_orphaned())
    try:
        await server.serve()
    finally:
        orphan.cancel()

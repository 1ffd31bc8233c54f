"""Server-rendered pages on the relay: signup (`/signup`) and the account page (`/account`)."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse, Response

_STATIC = files("cockpit.web") / "static"
assets = APIRouter()


@assets.get("/web.css", include_in_schema=False)
async def stylesheet() -> Response:
    css = (_STATIC / "web.css").read_text()
    return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


@assets.get("/verify.js", include_in_schema=False)
async def verify_script() -> Response:
    script = (_STATIC / "verify.js").read_text()
    return Response(script, media_type="text/javascript", headers={"Cache-Control": "max-age=300"})


@assets.get("/", include_in_schema=False)
async def home() -> Response:
    return RedirectResponse("/signup", status_code=307)


def mount_web(app: FastAPI) -> None:
    """Add the signup and account pages to the relay's app."""
    from cockpit.web import account, signup

    app.include_router(assets)
    app.include_router(signup.router)
    app.include_router(account.router)

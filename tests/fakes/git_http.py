"""A git server over HTTP on loopback (git's "dumb" protocol), standing in for GitHub's.

Serves the bare repositories under `root` as static files, the way git's dumb HTTP
transport reads them (`info/refs`, `HEAD`, `objects/…`), and, like GitHub, answers
401 unless the request carries `Authorization: Basic x-access-token:<token>`.
"""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.live import serve


@dataclass
class GitServer:
    """Bare repositories under `root`, readable with `token`."""

    root: Path
    token: str
    url: str = ""
    seen_auth: list[str] = field(default_factory=list)

    def add_repo(self, name: str, files: dict[str, str]) -> None:
        """Create `root/<name>` (e.g. "grace/compiler") as a bare repository holding `files`."""
        work = self.root / ".work" / name
        work.mkdir(parents=True)
        for rel, content in files.items():
            (work / rel).write_text(content)
        ident = ["-c", "user.name=t", "-c", "user.email=t@t"]
        for args in (["init", "-q", "-b", "main"], ["add", "."], [*ident, "commit", "-qm", "init"]):
            subprocess.run(["git", *args], cwd=work, check=True, capture_output=True)
        bare = self.root / name
        subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
        subprocess.run(["git", "update-server-info"], cwd=bare, check=True)

    async def file(self, request: Request) -> Response:
        """One file of a bare repository, behind the token."""
        header = request.headers.get("authorization", "")
        self.seen_auth.append(header)
        expected = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
        if header != f"Basic {expected}":
            return PlainTextResponse("Unauthorized", 401, {"WWW-Authenticate": 'Basic realm="git"'})
        path = (self.root / request.path_params["path"]).resolve()
        name = request.path_params["path"].removesuffix(".git")
        if not path.is_file():
            path = (self.root / name).resolve()
        if not path.is_relative_to(self.root.resolve()) or not path.is_file():
            return PlainTextResponse("Not Found", 404)
        return FileResponse(path)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self.file, methods=["GET"])])


@contextmanager
def git_server(root: Path, token: str) -> Iterator[GitServer]:
    """A running GitServer over `root`."""
    server = GitServer(root, token)
    root.mkdir(parents=True, exist_ok=True)
    with serve(server.app()) as url:
        server.url = url
        yield server

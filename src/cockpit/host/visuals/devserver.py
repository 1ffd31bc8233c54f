"""The project's dev server: find its command and port, start, probe and stop it.

Found from `package.json` scripts (`dev`, then `start`), run with the package
manager its lock file names (npm by default), or given explicitly. The port is
the one the script names (`--port N`, `-p N`, `PORT=N`), else the tool's usual
default (vite 5173, next 3000, astro 4321, …), else 3000; the `PORT`
environment variable is set to it as well. The server runs in its own process
group, so stopping it also stops what `npm` started; its output goes to a log
file whose tail explains a failure. A folder without `package.json` but with HTML
files is served as it is, by Python's own `http.server` (port 5500 unless given).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

import httpx

from cockpit.host.visuals.errors import DevServerError
from cockpit.log import get_logger

log = get_logger(__name__)

_PORT_PATTERNS = (
    re.compile(r"--port[= ](\d{2,5})\b"),
    re.compile(r"(?:^|\s)-p[= ]?(\d{2,5})\b"),
    re.compile(r"\bPORT=(\d{2,5})\b"),
    re.compile(r"(?:--listen|-l)[= ](\d{2,5})\b"),
)
_DEFAULT_PORTS = (
    ("next", 3000),
    ("nuxt", 3000),
    ("nuxi", 3000),
    ("remix", 3000),
    ("react-scripts", 3000),
    ("astro", 4321),
    ("ng", 4200),
    ("gatsby", 8000),
    ("parcel", 1234),
    ("webpack", 8080),
    ("http-server", 8080),
    ("eleventy", 8080),
    ("hugo", 1313),
    ("vite", 5173),
    ("serve", 3000),
)
_PORT_FLAG_TOOLS = ("vite", "next", "astro", "nuxt", "nuxi", "ng", "webpack", "gatsby", "parcel")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
FALLBACK_PORT = 3000
STATIC_PORT = 5500  # a folder of plain HTML files (Live Server's usual port)


@dataclass(frozen=True)
class DevCommand:
    """How to run a dev server: shell command, port, and where that came from."""

    command: str
    port: int
    source: str


def parse_port(script: str) -> int | None:
    """The port a script names explicitly (`--port 4000`, `-p 4000`, `PORT=4000`), if any."""
    for pattern in _PORT_PATTERNS:
        match = pattern.search(script)
        if match:
            return int(match[1])
    return None


def default_port(script: str) -> int:
    """The usual port of the tool a script runs (vite 5173, next 3000, …), else 3000."""
    for tool, port in _DEFAULT_PORTS:
        if re.search(rf"(?<![\w-]){re.escape(tool)}(?![\w-])", script):
            return port
    return FALLBACK_PORT


def detect(workdir: Path, port: int | None = None) -> DevCommand:
    """The dev server command of the project in `workdir`, from its package.json."""
    manifest = workdir / "package.json"
    if not manifest.is_file():
        if any(workdir.glob("*.htm*")):  # plain files: serve the folder as it is
            chosen = port or STATIC_PORT
            python = shlex.quote(sys.executable)
            command = f"{python} -m http.server {chosen} --bind 127.0.0.1"
            return DevCommand(command, chosen, "static files (no package.json)")
        raise DevServerError("No package.json here: tell me the command that starts the app.")
    try:
        scripts = json.loads(manifest.read_text(encoding="utf-8")).get("scripts") or {}
    except (ValueError, AttributeError):
        raise DevServerError("package.json is not valid JSON.") from None
    name = next((n for n in ("dev", "start") if isinstance(scripts.get(n), str)), None)
    if name is None:
        raise DevServerError("package.json has no dev or start script.")
    script = scripts[name]
    command = f"{_package_manager(workdir)} run {name}"
    found = parse_port(script)
    if port is not None and found is None and _takes_port_flag(script):
        command += f" -- --port {port}"
    chosen = port or found or default_port(script)
    return DevCommand(command, chosen, f"package.json scripts.{name}: {script}")


class DevServer:
    """One dev server process of the project in `workdir`."""

    def __init__(
        self,
        workdir: Path,
        *,
        command: str | None = None,
        port: int | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        spec = (
            detect(self.workdir, port)
            if command is None
            else DevCommand(
                command, port or parse_port(command) or default_port(command), "configured"
            )
        )
        self.command, self.port, self.source = spec.command, spec.port, spec.source
        self.log_path = log_path or Path(tempfile.gettempdir()) / f"cockpit-dev-{self.port}.log"
        self._proc: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None
        self._host = "127.0.0.1"

    async def __aenter__(self) -> DevServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def running(self) -> bool:
        """True while the process we started has not exited."""
        return self._proc is not None and self._proc.returncode is None

    def url(self, path: str = "/") -> str:
        """Address of `path` on the dev server, e.g. http://127.0.0.1:5173/login."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}{path if path.startswith('/') else '/' + path}"

    async def start(self) -> None:
        """Start the server in its own process group (does nothing when it runs already)."""
        if self.running:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self._log.write(f"$ {self.command}  (PORT={self.port})\n".encode())
        self._log.flush()
        env = {**os.environ, "PORT": str(self.port), "BROWSER": "none", "FORCE_COLOR": "0"}
        try:
            self._proc = await asyncio.create_subprocess_exec(
                "/bin/sh",
                "-c",
                self.command,
                cwd=self.workdir,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=self._log,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            self._close_log()
            raise DevServerError(f"Could not run '{self.command}': {exc.strerror}") from None
        log.info(
            "visuals.devserver_started", command=self.command, port=self.port, pid=self._proc.pid
        )

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Stop the server and all it started: SIGTERM, then SIGKILL after `grace_seconds`."""
        proc, self._proc = self._proc, None
        if proc is not None:
            await _terminate_group(proc, grace_seconds)
            log.info("visuals.devserver_stopped", port=self.port, code=proc.returncode)
        self._close_log()

    async def healthy(self) -> bool:
        """True when an HTTP GET on the port answers (any status) and our process lives."""
        if self._proc is not None and self._proc.returncode is not None:
            return False
        async with httpx.AsyncClient(timeout=2.0, trust_env=False) as client:
            for host in ("127.0.0.1", "::1"):  # some dev servers bind only ::1 ("localhost")
                self._host = host
                try:
                    await client.get(self.url("/"))
                    return True
                except httpx.HTTPError:
                    continue
        self._host = "127.0.0.1"
        return False

    async def wait_healthy(self, within_seconds: float = 60.0) -> bool:
        """Poll `healthy()` until it is true, the process exits, or `within_seconds` pass."""
        deadline = time.monotonic() + within_seconds
        while time.monotonic() < deadline:
            if await self.healthy():
                return True
            if self._proc is not None and self._proc.returncode is not None:
                return False
            await asyncio.sleep(0.2)
        return False

    def log_tail(self, n: int = 20) -> str:
        """The last `n` lines the server printed (colour codes removed)."""
        try:
            data = self.log_path.read_bytes()[-64_000:]
        except FileNotFoundError:
            return ""
        lines = _ANSI.sub("", data.decode("utf-8", errors="replace")).splitlines()
        return "\n".join(lines[-n:])

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


async def _terminate_group(proc: asyncio.subprocess.Process, grace_seconds: float) -> None:
    """SIGTERM the whole group; once the leader is gone (or the grace time is up), SIGKILL
    whatever is left of the group, so no `npm` grandchild keeps the port."""
    if _signal_group(proc.pid, signal.SIGTERM):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), grace_seconds)
    _signal_group(proc.pid, signal.SIGKILL)
    await proc.wait()


def _signal_group(pgid: int, sig: int) -> bool:
    """Send `sig` to the group; False when no process of it is left."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # a reused id that is not ours: the group is gone
        return False
    return True


def _takes_port_flag(script: str) -> bool:
    return any(re.search(rf"(?<![\w-]){tool}(?![\w-])", script) for tool in _PORT_FLAG_TOOLS)


def _package_manager(workdir: Path) -> str:
    for lock, tool in (("pnpm-lock.yaml", "pnpm"), ("yarn.lock", "yarn"), ("bun.lockb", "bun")):
        if (workdir / lock).exists() and shutil.which(tool):
            return tool
    return "npm"

"""The project's dev server: found from package.json, started, probed, stopped."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import httpx
import pytest

from cockpit.host.visuals import DevServer, DevServerError, detect
from cockpit.host.visuals.devserver import default_port, parse_port
from tests.requirements import require


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def package(tmp_path: Path, scripts: dict[str, str]) -> Path:
    (tmp_path / "package.json").write_text(json.dumps({"name": "app", "scripts": scripts}))
    return tmp_path


def test_ports_named_in_scripts_or_known_defaults() -> None:
    """Explicit ports win; otherwise each tool's usual port, else 3000."""
    assert parse_port("vite --port 4000") == 4000
    assert parse_port("next dev -p 3001") == 3001
    assert parse_port("PORT=8081 node server.js") == 8081
    assert parse_port("tsc -p tsconfig.json && node x.js") is None
    assert default_port("vite") == 5173
    assert default_port("next dev") == 3000
    assert default_port("astro dev") == 4321
    assert default_port("node server.js") == 3000


def test_detect_prefers_dev_then_start(tmp_path: Path) -> None:
    """`dev` is used when present, else `start`; the command runs through npm."""
    both = detect(package(tmp_path, {"start": "node s.js", "dev": "vite --port 4100"}))
    assert (both.command, both.port) == ("npm run dev", 4100)
    only_start = detect(package(tmp_path, {"start": "next start"}))
    assert (only_start.command, only_start.port) == ("npm run start", 3000)
    forced = detect(package(tmp_path, {"dev": "vite"}), port=4242)
    assert (forced.command, forced.port) == ("npm run dev -- --port 4242", 4242)


def test_detect_explains_what_is_missing(tmp_path: Path) -> None:
    """No package.json, or no dev/start script, is a DevServerError with a plain message."""
    with pytest.raises(DevServerError, match=r"No package\.json"):
        detect(tmp_path)
    with pytest.raises(DevServerError, match="no dev or start script"):
        detect(package(tmp_path, {"test": "jest"}))


async def test_a_folder_of_html_files_is_served_as_it_is(tmp_path: Path) -> None:
    """No package.json but an index.html: Python's http.server serves the folder."""
    (tmp_path / "index.html").write_text("<h1>Static 🥚</h1>", encoding="utf-8")
    found = detect(tmp_path)
    assert (found.port, found.source) == (5500, "static files (no package.json)")
    port = free_port()
    async with DevServer(tmp_path, port=port) as server:
        assert await server.wait_healthy(20)
        async with httpx.AsyncClient(timeout=5) as client:
            page = await client.get(server.url("/index.html"))
    assert page.status_code == 200 and "Static 🥚" in page.text


async def test_npm_dev_server_starts_answers_and_stops(tmp_path: Path) -> None:
    """`npm run dev` serving on $PORT becomes healthy, serves url(), and is gone after stop()."""
    require(shutil.which("npm") is not None, "npm is not installed")
    workdir = package(tmp_path, {"dev": "python3 -m http.server $PORT --bind 127.0.0.1"})
    (workdir / "hello.html").write_text("<h1>hi</h1>")
    port = free_port()
    server = DevServer(workdir, port=port, log_path=tmp_path / "dev.log")
    assert server.url("/hello.html") == f"http://127.0.0.1:{port}/hello.html"
    async with server:
        assert await server.wait_healthy(within_seconds=30)
        async with httpx.AsyncClient(trust_env=False) as client:
            response = await client.get(server.url("/hello.html"))
        assert response.text == "<h1>hi</h1>"
    assert not server.running
    assert not await server.healthy()
    assert "npm run dev" in server.log_tail()


async def test_failing_command_is_unhealthy_and_its_log_explains(tmp_path: Path) -> None:
    """A server that crashes is not healthy, and the log tail shows its error."""
    server = DevServer(
        tmp_path,
        command="echo 'Error: Cannot find module vite' >&2; exit 1",
        port=free_port(),
        log_path=tmp_path / "dev.log",
    )
    await server.start()
    try:
        assert not await server.wait_healthy(within_seconds=10)
        assert "Error: Cannot find module vite" in server.log_tail(5)
    finally:
        await server.stop()

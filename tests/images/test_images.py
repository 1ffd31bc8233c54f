"""The built images end to end: `make images`, then `pytest -m images` (.ci/run does both).

Phone simulator (this process) → the relay image on PostgreSQL → its container
provisioner → the host image for the user → the real Claude Code CLI inside it →
the scripted Anthropic stand-in (this process), and pictures made by the image's own
Chromium back to the phone. Every container shares the machine's network
(`--network host`), so all traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from cockpit.channels.simulator import PhoneSimulator, SimMessage, create_simulator_app
from cockpit.config import setting_env_name
from cockpit.store.db import normalize_url
from tests.fakes.anthropic import (
    AnthropicFake,
    conversation_text,
    has_tool_result,
    result_text,
    say,
    tool,
    tool_results,
)
from tests.images.conftest import HOST_IMAGE, RELAY_IMAGE, Engine
from tests.live import bound_socket, serve, wait_until
from tests.relay.conftest import ACCOUNT_SID, AUTH_TOKEN, FROM, make_simulator
from tests.requirements import postgres_url

pytestmark = [pytest.mark.images, pytest.mark.timeout(900)]

PHONE = "+15552000020"
DIGITS = "15552000020"
HOST_CONTAINER = f"cockpit-host-{DIGITS}"
VOLUMES = (f"cockpit-ws-{DIGITS}", f"cockpit-data-{DIGITS}")
CLAUDE_ENV = {
    "ANTHROPIC_API_KEY": "sk-test",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_AUTOUPDATER": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
}
SETTINGS = "DEBUG = False\n"
PAGE = """<!doctype html><meta charset="utf-8"><title>Cockpit image check</title>
<body style="margin:0;background:#fff;font-size:96px">
<p>🎉🚀🌈</p><p style="font-size:48px">你好，世界 こんにちは 안녕하세요</p></body>"""


def _env_args(env: dict[str, str]) -> list[str]:
    return [arg for name, value in env.items() for arg in ("-e", f"{name}={value}")]


@contextmanager
def _page() -> Iterator[str]:
    """A page on loopback with emoji and CJK text; yields its URL."""
    app = Starlette(routes=[Route("/", lambda _request: HTMLResponse(PAGE))])
    with serve(app) as url:
        yield f"{url}/"


def test_the_host_image_has_claude_chromium_fonts_git_and_a_non_root_user(
    image_engine: Engine,
) -> None:
    """`podman run cockpit-host:latest claude --version` works; the rest of the kit is there."""
    assert "(Claude Code)" in image_engine.ok("run", "--rm", HOST_IMAGE, "claude", "--version")
    script = (
        'id -un; readlink -f "$(command -v claude)"; chromium --version; git --version; '
        "fc-list : family | sort -u | tr '\\n' '|'; echo"
    )
    lines = image_engine.ok("run", "--rm", HOST_IMAGE, "sh", "-c", script).splitlines()
    user, claude, chromium, git, families = lines[:5]
    assert user == "cockpit"
    assert claude.endswith("/claude_agent_sdk/_bundled/claude")
    assert chromium.startswith("Chromium ") and git.startswith("git version")
    assert "Noto Color Emoji" in families and "Noto Sans CJK SC" in families


def test_the_default_playwright_mcp_server_works_in_the_host_image(
    image_engine: Engine, anthropic_fake: AnthropicFake
) -> None:
    """The image's seeded .mcp.json starts Playwright on its Chromium with no approval prompt."""
    with _page() as url:
        anthropic_fake.script(
            [
                tool("ToolSearch", {"query": "select:mcp__playwright__browser_navigate"}),
                tool("mcp__playwright__browser_navigate", {"url": url}, when=has_tool_result),
                say("I opened the page.", when=has_tool_result),
            ]
        )
        env = CLAUDE_ENV | {"ANTHROPIC_BASE_URL": anthropic_fake.url}
        out = image_engine.ok(
            "run", "--rm", "--network", "host", *_env_args(env), HOST_IMAGE,
            "claude", "-p", "open the page", "--output-format", "stream-json", "--verbose",
            "--setting-sources", "project",
            "--allowedTools", "mcp__playwright__browser_navigate",
        )  # fmt: skip
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    init = next(e for e in events if e.get("subtype") == "init")
    assert init["mcp_servers"][0]["name"] == "playwright", init["mcp_servers"]
    navigated = [result_text(b) for r in anthropic_fake.main_requests for b in tool_results(r)]
    assert any("Cockpit image check" in t for t in navigated), navigated
    assert events[-1]["result"] == "I opened the page."


# --- the relay image, the container provisioner and the host image, end to end ----------


@pytest.fixture
def database() -> Iterator[str]:
    """A new PostgreSQL database without tables (the relay image's release command makes them)."""
    admin_url = make_url(normalize_url(postgres_url()))
    name = f"cockpit_images_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Phone:
    """The simulated phone of PHONE, served on loopback."""

    def __init__(self, sim: PhoneSimulator, url: str) -> None:
        self.sim, self.url = sim, url

    def send(self, body: str) -> None:
        """Send `body` as a person does on the /phone page."""
        response = httpx.post(
            f"{self.url}/phone/api/send", json={"from": PHONE, "body": body}, timeout=10
        )
        response.raise_for_status()

    def received(self) -> list[SimMessage]:
        """What the phone has received so far, in order."""
        return [m for m in self.sim.messages(PHONE) if m.direction != "inbound"]

    def bodies(self) -> list[str]:
        return [m.body for m in self.received()]

    def wait_for(self, text: str, count: int = 1, timeout: float = 120) -> list[str]:
        """Wait until `count` received messages contain `text`; every body so far."""
        wait_until(lambda: sum(text in b for b in self.bodies()) >= count, timeout=timeout)
        return self.bodies()

    def said(self, text: str) -> bool:
        """Whether a received message starts with `text` (answers share one with ✅ Done)."""
        return any(b.startswith(text) for b in self.bodies())

    def pictures(self, count: int) -> list[tuple[SimMessage, Image.Image]]:
        """The first `count` received pictures, once the phone has fetched them."""
        wait_until(lambda: len([m for m in self.received() if m.media]) >= count, timeout=60)
        with_media = [m for m in self.received() if m.media][:count]
        wait_until(lambda: all(item.data for m in with_media for item in m.media), timeout=30)
        return [(m, Image.open(io.BytesIO(m.media[0].data or b""))) for m in with_media]


def _relay_env(db_url: str, relay_url: str, sim_url: str, fake: AnthropicFake) -> dict[str, str]:
    settings: dict[str, Any] = {
        "database_url": db_url,
        "public_url": relay_url,
        "secret_key": "images-test-secret-key",
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_whatsapp_from": FROM,
        "twilio_api_base_url": sim_url,
        "provisioner": "container",
        "docker_url": "unix:///run/podman.sock",
        "host_image": HOST_IMAGE,
        "agent": "claude",
        "anthropic_api_key": "sk-test",
        "anthropic_base_url": fake.url,
        "claude_max_retries": 0,
        "retry_base_seconds": 0.1,
        "retry_max_seconds": 1.0,
        "poll_seconds": 0.2,
    }
    return {setting_env_name(name): str(value) for name, value in settings.items()}


@contextmanager
def _relay_container(engine: Engine, env: dict[str, str], port: int) -> Iterator[str]:
    """The relay image's relay on 127.0.0.1:`port`; removed (with the user's host) after."""
    name = f"cockpit-relay-test-{uuid.uuid4().hex[:6]}"
    base = ["run", "--rm", "--network", "host", *_env_args(env), RELAY_IMAGE]
    engine.ok(*base, "cockpit", "db", "upgrade")  # what Fly's release command runs
    engine.ok(*base, "cockpit", "users", "add", PHONE, "--name", "Ada")
    engine.ok(
        "run", "--detach", "--name", name, "--network", "host",
        "-v", f"{engine.socket}:/run/podman.sock", *_env_args(env), RELAY_IMAGE,
        "cockpit", "relay", "--host", "127.0.0.1", "--port", str(port),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(f"{url}/healthz"), timeout=90)
        # At start the relay provisions every active user's host; a message sent before
        # that host answers is postponed with a notice, so wait as a user would not notice.
        wait_until(lambda: _host_answers(engine), timeout=120, interval=0.5)
        yield name
    except (Exception, pytest.fail.Exception) as exc:  # the containers' logs tell why
        logs = "\n".join(f"--- {c}:\n{_logs(engine, c)}" for c in (name, HOST_CONTAINER))
        raise AssertionError(f"{exc}\n{logs}") from exc
    finally:
        engine.remove_container(name)
        engine.remove_container(HOST_CONTAINER)
        for volume in VOLUMES:
            engine.remove_volume(volume)


def _logs(engine: Engine, container: str) -> str:
    done = engine.podman("logs", "--tail", "60", container)
    return (done.stdout + done.stderr).strip()


def _host_answers(engine: Engine) -> bool:
    label = '{{index .Config.Labels "cockpit.port"}}'
    found = engine.podman("inspect", "--format", label, HOST_CONTAINER)
    return found.returncode == 0 and _answers(f"http://127.0.0.1:{found.stdout.strip()}/health")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def _workspace_file(engine: Engine, name: str) -> str | None:
    """A file's text on the user's workspace volume, read where Podman keeps it."""
    mountpoint = engine.ok("volume", "inspect", "--format", "{{.Mountpoint}}", VOLUMES[0]).strip()
    path = Path(mountpoint) / name
    return path.read_text() if path.exists() else None


def _colourful(picture: Image.Image) -> int:
    """How many pixels are strongly coloured (colour emoji), not grey text."""
    rgb = picture.convert("RGB").resize((picture.width // 4, picture.height // 4))
    data = rgb.tobytes()
    pixels = (data[i : i + 3] for i in range(0, len(data), 3))
    return sum(1 for p in pixels if max(p) - min(p) > 120)


def test_a_phone_message_runs_claude_in_the_host_image_behind_the_relay_image(
    image_engine: Engine, anthropic_fake: AnthropicFake, database: str
) -> None:
    """Answer, diff picture and colour screenshot reach the phone; after the host container
    restarts, the workspace file is there and Claude's session goes on."""
    relay_port, sim_sock = bound_socket(), bound_socket()
    port = relay_port.getsockname()[1]
    relay_port.close()  # the relay container listens there
    relay_url = f"http://127.0.0.1:{port}"
    sim = make_simulator(relay_url)
    with serve(create_simulator_app(sim), sim_sock) as sim_url, _page() as page:
        env = _relay_env(database, relay_url, sim_url, anthropic_fake)
        phone = Phone(sim, sim_url)
        with _relay_container(image_engine, env, port):
            anthropic_fake.script(
                [
                    tool("Write", {"file_path": "/workspace/settings.py", "content": SETTINGS}),
                    say("I wrote **settings.py**.", when=has_tool_result),
                ]
            )
            phone.send("add a settings file")
            phone.wait_for("✅ Done", timeout=240)
            assert phone.said("I wrote *settings.py*.")
            [(diff, picture)] = phone.pictures(1)
            assert diff.body.startswith("settings.py") and picture.format == "PNG"
            assert _workspace_file(image_engine, "settings.py") == SETTINGS

            anthropic_fake.script(
                [
                    tool("mcp__phone__screenshot", {"target": page, "viewports": "mobile"}),
                    say("That is the page.", when=has_tool_result),
                ]
            )
            phone.send("show me the page")
            phone.wait_for("✅ Done", count=2)
            shot, screenshot = phone.pictures(2)[-1]
            assert shot.media[0].content_type == "image/jpeg" and screenshot.width == 780
            assert _colourful(screenshot) > 200  # the emoji are drawn in colour

            image_engine.ok("restart", "--time", "5", HOST_CONTAINER)
            anthropic_fake.script(
                [say("Still here.", when=lambda b: "add a settings file" in conversation_text(b))]
            )
            phone.send("are you still there?")
            phone.wait_for("✅ Done", count=3)
            assert phone.said("Still here.")
            assert _workspace_file(image_engine, "settings.py") == SETTINGS

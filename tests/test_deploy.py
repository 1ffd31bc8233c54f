"""The Fly configuration points at the real Dockerfiles, ports, health endpoints and commands."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute
from typer.main import get_command

from cockpit.cli import app as cli
from cockpit.config import load_settings
from cockpit.host.app import create_host_app
from cockpit.provision.container import IMAGE_PORT
from cockpit.provision.fly import HEALTH_CHECK
from cockpit.relay.routes import router

DEPLOY = Path(__file__).parent.parent / "deploy"


def _toml(name: str) -> dict[str, Any]:
    return tomllib.loads((DEPLOY / name).read_text())


def _dockerfile(config: dict[str, Any]) -> str:
    """The Dockerfile a fly.toml builds (Fly resolves it next to the toml)."""
    path = DEPLOY / config["build"]["dockerfile"]
    assert path.is_file(), path
    return path.read_text()


def _cmd(dockerfile: str) -> list[str]:
    match = re.search(r"^CMD (\[.*\])$", dockerfile, re.M)
    assert match is not None
    command: list[str] = json.loads(match.group(1))
    return command


def _get_paths(routes: Any) -> set[str]:
    return {r.path for r in routes if isinstance(r, APIRoute) and "GET" in r.methods}


def test_the_relay_toml_matches_the_relay_image_and_app() -> None:
    """Fly checks the relay's /healthz on the port its image listens on, rolling one by one."""
    config = _toml("fly.relay.toml")
    command = _cmd(_dockerfile(config))
    port = config["http_service"]["internal_port"]
    assert command[:2] == ["cockpit", "relay"] and command[command.index("--port") + 1] == str(port)
    [check] = config["http_service"]["checks"]
    assert check["path"] in _get_paths(router.routes) and check["path"] == "/healthz"
    assert config["deploy"]["strategy"] == "rolling"
    assert config["env"]["COCKPIT_PROVISIONER"] == "fly"
    assert config["mounts"]["destination"] == config["env"]["COCKPIT_DATA_DIR"]


def test_the_release_command_is_a_cockpit_command() -> None:
    """`cockpit db upgrade`, run before each release, is a real command of the CLI."""
    program, group, sub = _toml("fly.relay.toml")["deploy"]["release_command"].split()
    assert program == "cockpit"
    assert sub in get_command(cli).commands[group].commands  # type: ignore[attr-defined]


def test_the_host_toml_checks_what_the_provisioner_checks(tmp_path: Path) -> None:
    """The host app's check is the provisioner's: GET /health on the image's port 8080."""
    config = _toml("fly.host.toml")
    dockerfile = _dockerfile(config)
    assert f"EXPOSE {IMAGE_PORT}" in dockerfile
    check = config["checks"]["health"]
    assert {k: check[k] for k in HEALTH_CHECK} == HEALTH_CHECK
    settings = load_settings(data_dir=tmp_path / "data", workspace=tmp_path / "ws", host_token="t")
    assert check["path"] in _get_paths(create_host_app(settings).routes)
    assert config["deploy"]["strategy"] == "rolling"


def test_the_relay_provisions_hosts_in_the_host_app_from_its_registry() -> None:
    """The relay's FLY_APP and COCKPIT_HOST_IMAGE name the app fly.host.toml pushes to."""
    relay_env = _toml("fly.relay.toml")["env"]
    hosts = _toml("fly.host.toml")
    assert relay_env["FLY_APP"] == hosts["app"]
    assert relay_env["COCKPIT_HOST_IMAGE"].startswith(f"registry.fly.io/{hosts['app']}:")
    assert relay_env["COCKPIT_FLY_REGION"] == hosts["primary_region"]


def _copied(dockerfile: str) -> set[str]:
    """Every repository path a Dockerfile's COPY lines take from the build context."""
    sources: set[str] = set()
    for line in re.findall(r"^COPY (.+)$", dockerfile, re.M):
        sources.update(line.split()[:-1])
    return sources


def test_the_build_context_holds_every_file_the_dockerfiles_copy() -> None:
    """.dockerignore lets through each COPY source (else `make images` stops), and it exists."""
    allowed = {
        line[1:] for line in (DEPLOY.parent / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }  # fmt: skip
    for name in ("Dockerfile.relay", "Dockerfile.host"):
        for source in _copied((DEPLOY / name).read_text()):
            assert source in allowed, f"{name} copies {source}, which .dockerignore leaves out"
            assert (DEPLOY.parent / source).exists(), source


def test_the_default_mcp_servers_are_commands_the_host_image_installs() -> None:
    """Each server in deploy/host.mcp.json runs a program Dockerfile.host puts on PATH."""
    servers = json.loads((DEPLOY / "host.mcp.json").read_text())["mcpServers"]
    dockerfile = (DEPLOY / "Dockerfile.host").read_text()
    for server in servers.values():
        assert f"/usr/local/bin/{server['command']}" in dockerfile, server["command"]

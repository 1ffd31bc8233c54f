"""What every provisioner hands to a host: its environment, name and port.

One place decides which settings a host inherits from the relay, so the local
and container hosts behave alike and no relay secret (Twilio token, secret key)
ever reaches a host, where Claude's shell could read it.
"""

from __future__ import annotations

import socket
from pathlib import Path

from cockpit.config import Settings, setting_env_name
from cockpit.provision.base import HostSpec

# Host knobs the relay's operator sets once for every user's host.
_INHERITED = (
    "auto_allow_edits",
    "approval_timeout_seconds",
    "progress_interval_seconds",
    "slow_answer_seconds",
    "claude_model",
    "claude_max_retries",
    "transcriber",
    "whisper_model",
    "voice_max_seconds",
    "stuck_failures",
    "stuck_flips",
    "stuck_idle_steps",
    "turn_budget_usd",
    "turn_budget_minutes",
    "client_idle_seconds",
    "max_live_clients",
    "client_max_turns",
    "client_max_rss_mb",
    "client_close_seconds",
    "dev_command",
    "dev_port",
    "log_level",
)


# Claude Code's credentials: an API key, or a subscription token (`claude setup-token`).
CREDENTIALS = {"ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN"}


def operator_credentials(settings: Settings) -> dict[str, str]:
    """The relay's own Claude credentials from its settings, by environment name."""
    found = {}
    if settings.anthropic_api_key is not None:
        found["ANTHROPIC_API_KEY"] = settings.anthropic_api_key.get_secret_value()
    if settings.claude_code_oauth_token is not None:
        found["CLAUDE_CODE_OAUTH_TOKEN"] = settings.claude_code_oauth_token.get_secret_value()
    return found


def phone_digits(phone: str) -> str:
    """The digits of a phone number: the per-user part of folder, container and volume names."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if not digits:
        raise ValueError(f"phone number without digits: {phone!r}")
    return digits


def host_env(settings: Settings, spec: HostSpec, data_dir: str, workspace: str) -> dict[str, str]:
    """The environment of a user's host (the caller adds PATH and the like)."""
    env: dict[str, str] = {}
    for name in _INHERITED:
        value = getattr(settings, name)
        if isinstance(value, bool):
            value = str(value).lower()
        if value is not None:
            env[setting_env_name(name)] = str(value)
    if not CREDENTIALS & spec.env.keys():  # the user's own credential, else the operator's
        for variable, value in operator_credentials(settings).items():
            env[variable] = value
    if settings.anthropic_base_url:
        env["ANTHROPIC_BASE_URL"] = settings.anthropic_base_url
    env.update(spec.env)
    env["COCKPIT_HOST_TOKEN"] = spec.token
    env["COCKPIT_DATA_DIR"] = data_dir
    env["COCKPIT_WORKSPACE"] = workspace
    return env


def free_port(preferred: int | None = None) -> int:
    """`preferred` if nothing listens on 127.0.0.1 there, else a port the system picks."""
    if preferred is not None and port_is_free(preferred):
        return preferred
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    """True when a server could listen on 127.0.0.1:`port` now."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def local_workspace(settings: Settings, spec: HostSpec) -> Path:
    """A local host's workspace: the spec's, else COCKPIT_DATA_DIR/workspaces/<digits>."""
    if spec.workspace is not None:
        return spec.workspace.resolve()
    return (settings.data_dir / "workspaces" / phone_digits(spec.phone)).resolve()

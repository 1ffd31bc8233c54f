"""How the host starts Claude Code: the SDK options of a live client, the process's
environment, and the permission gate every tool call passes (`can_use_tool`).

Given once per client, at connect (clients.py): the callbacks read the turn they work
for from the client's `Binding`, so one process serves turn after turn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from claude_agent_sdk import (
    ClaudeAgentOptions,
    PermissionResult,
    PermissionResultAllow,
    PermissionResultDeny,
    ToolPermissionContext,
)

from cockpit.host import policy
from cockpit.host.clients import Binding, LiveClient
from cockpit.host.parts import HostParts
from cockpit.host.phone_tools import SERVER_NAME, PhoneContext, phone_server
from cockpit.log import get_logger

log = get_logger(__name__)


def client_options(p: HostParts, live: LiveClient) -> ClaudeAgentOptions:
    """Options of a live client: its callbacks serve whichever turn `live.binding` holds."""
    cwd = live.cwd
    ctx = PhoneContext("", live.session, p.workspace, cwd, p.files_dir, p.events, p.waits, p.db)
    live.binding.phone = ctx  # its turn_id follows the bound turn
    return ClaudeAgentOptions(
        cwd=str(cwd),
        permission_mode="default",
        can_use_tool=permission_gate(p, live.binding, cwd),
        mcp_servers={SERVER_NAME: phone_server(ctx, p.phone_tools)},
        env=claude_env(p),
        resume=live.claude_session_id,
        hooks=live.binding.hooks(p.settings.approval_timeout_seconds),
        setting_sources=["project"],
        model=p.settings.claude_model,
        stderr=lambda line: log.debug("host.claude_stderr", line=line[:300]),
    )


def claude_env(p: HostParts) -> dict[str, str]:
    """The `claude` process's environment: its own HOME, no telemetry, the credential."""
    s = p.settings
    p.home.mkdir(parents=True, exist_ok=True)
    env = {
        "HOME": str(p.home),
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    if s.anthropic_api_key is not None:
        env["ANTHROPIC_API_KEY"] = s.anthropic_api_key.get_secret_value()
    if s.claude_code_oauth_token is not None:  # a subscription token (claude setup-token)
        env["CLAUDE_CODE_OAUTH_TOKEN"] = s.claude_code_oauth_token.get_secret_value()
    if s.anthropic_base_url:
        env["ANTHROPIC_BASE_URL"] = s.anthropic_base_url
    return {**env, **p.claude_env}


def permission_gate(p: HostParts, binding: Binding, cwd: Path) -> Any:
    """`can_use_tool`: allowed by policy or for the session, else the user is asked."""

    async def can_use_tool(
        name: str, args: dict[str, Any], context: ToolPermissionContext
    ) -> PermissionResult:
        turn_id, session = binding.turn_id, binding.session
        if turn_id is None:  # a call between turns: nobody is there to ask
            return PermissionResultDeny(message="No task of the user is running now.")
        await binding.wait_ready()
        if not policy.needs_approval(
            name,
            args,
            workspace=cwd,
            cwd=cwd,
            auto_allow_edits=p.settings.auto_allow_edits,
        ):
            return PermissionResultAllow()
        if p.db.tool_allowed(session, name):
            return PermissionResultAllow()
        summary = policy.summary(name, args, workspace=cwd, cwd=cwd)
        answer = await p.waits.approval(turn_id, session, name, summary, args)
        if answer.value in ("allow", "allow_session"):
            return PermissionResultAllow()
        return PermissionResultDeny(message=answer.reason or "The user said no.")

    return can_use_tool

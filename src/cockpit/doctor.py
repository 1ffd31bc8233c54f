"""`cockpit doctor`: checks that tell what is wrong and how to fix it."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from cockpit.config import Settings
from cockpit.errors import CockpitError


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _settings_check(settings: Settings) -> CheckResult:
    if settings.uses_twilio:
        missing = [n for n in ("public_url", "twilio_whatsapp_from") if not getattr(settings, n)]
        if missing:
            return CheckResult(
                "settings", False, "Twilio is configured but incomplete",
                "Set COCKPIT_PUBLIC_URL and TWILIO_WHATSAPP_FROM (see README, Settings).",
            )  # fmt: skip
        return CheckResult("settings", True, f"Twilio, webhook at {settings.public_url}")
    return CheckResult("settings", True, "no Twilio credentials: `cockpit up` uses the simulator")


def _database_check(settings: Settings) -> CheckResult:
    from cockpit.store.db import Database

    db = Database(settings.effective_database_url)
    try:
        db.ping()
    except CockpitError as exc:
        return CheckResult(
            "database", False, str(exc), "Check COCKPIT_DATABASE_URL and that the server runs."
        )
    finally:
        db.dispose()
    return CheckResult("database", True, db.url.split("@")[-1])


def chromium_path() -> str | None:
    """The system Chromium used for screenshots, if installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium_check(_settings: Settings) -> CheckResult:
    path = chromium_path()
    if path is None:
        return CheckResult(
            "chromium", False, "not found", "apt-get install chromium fonts-dejavu-core"
        )
    return CheckResult("chromium", True, path)


def claude_cli_path() -> Path | None:
    """The Claude Code CLI bundled with claude-agent-sdk, if present."""
    try:
        import claude_agent_sdk
    except ImportError:
        return None
    path = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
    return path if path.exists() else None


def _claude_check(_settings: Settings) -> CheckResult:
    path = claude_cli_path()
    if path is None:
        return CheckResult("claude code", False, "CLI not found", "pip install claude-agent-sdk")
    try:
        out = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return CheckResult(
            "claude code", False, f"does not run: {exc}", "Reinstall claude-agent-sdk"
        )
    return CheckResult("claude code", True, out)


_BOTH_FIXES = (
    "Set ANTHROPIC_API_KEY=sk-ant-api03-… (console.anthropic.com) or "
    "CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat01-… (run `claude setup-token`) in .env."
)


def _credential_check(settings: Settings) -> CheckResult:
    """The operator's Claude credential: present and well formed."""
    from cockpit.core.signup import claude_credential

    if settings.agent != "claude":
        return CheckResult("claude credential", True, f"not needed by the {settings.agent} agent")
    given = [(name, value.get_secret_value()) for name, value in (
        ("ANTHROPIC_API_KEY", settings.anthropic_api_key),
        ("CLAUDE_CODE_OAUTH_TOKEN", settings.claude_code_oauth_token),
    ) if value is not None]  # fmt: skip
    if not given:
        return CheckResult("claude credential", False,
                           "neither ANTHROPIC_API_KEY nor CLAUDE_CODE_OAUTH_TOKEN is set: "
                           "hosts without their user's own credential cannot answer",
                           _BOTH_FIXES)  # fmt: skip
    for name, value in given:
        kind = "oauth_token" if name == "CLAUDE_CODE_OAUTH_TOKEN" else "api_key"
        try:
            found, _ = claude_credential(value)
        except ValueError:
            found = ""
        if found != kind:
            return CheckResult("claude credential", False, f"{name} is malformed", _BOTH_FIXES)
    return CheckResult("claude credential", True, ", ".join(name for name, _ in given))


def _twilio_check(settings: Settings) -> CheckResult:
    """With Twilio configured: its credentials work and the sender is on the account."""
    import asyncio

    from cockpit.channels.twilio import check_account
    from cockpit.core.signup import is_sandbox
    from cockpit.errors import PermanentSendError, TransientSendError

    if not (settings.uses_twilio and settings.twilio_whatsapp_from):
        return CheckResult("twilio", True, "not configured")
    assert settings.twilio_account_sid and settings.twilio_auth_token
    try:
        detail = asyncio.run(check_account(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token.get_secret_value(),
            sender=settings.twilio_whatsapp_from, base_url=settings.twilio_api_base_url,
            sandbox=is_sandbox(settings.twilio_whatsapp_from, settings.twilio_sandbox_keyword),
        ))  # fmt: skip
    except PermanentSendError as exc:
        return CheckResult("twilio", False, str(exc), _TWILIO_FIX)
    except (TransientSendError, ValueError) as exc:
        return CheckResult("twilio", False, str(exc), "Check TWILIO_API_BASE_URL and the network.")
    return CheckResult("twilio", True, detail)


_TWILIO_FIX = (
    "Copy the Account SID and Auth Token from console.twilio.com; TWILIO_WHATSAPP_FROM must "
    "be a WhatsApp sender of that account (docs/deploy.md)."
)


CHECKS: list[Callable[[Settings], CheckResult]] = [
    _settings_check, _database_check, _chromium_check, _claude_check, _credential_check,
    _twilio_check,
]  # fmt: skip


def run_checks(settings: Settings) -> list[CheckResult]:
    """Run every check; none raises."""
    return [check(settings) for check in CHECKS]


def render(results: list[CheckResult]) -> Table:
    """A table of the results with a fix for each problem."""
    table = Table(title="cockpit doctor")
    for column in ("check", "status", "detail", "fix"):
        table.add_column(column)
    for r in results:
        table.add_row(r.name, "[green]ok[/green]" if r.ok else "[red]FAIL[/red]", r.detail, r.fix)
    return table

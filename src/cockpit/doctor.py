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


CHECKS: list[Callable[[Settings], CheckResult]] = [
    _settings_check, _database_check, _chromium_check, _claude_check,
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

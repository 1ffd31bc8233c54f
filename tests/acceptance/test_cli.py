"""The `cockpit` command as a user types it: clear answers, right exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def cockpit(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `cockpit ARGS` in `folder` with only `env` as cockpit settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("COCKPIT_", "TWILIO_"))}
    return subprocess.run(
        [sys.executable, "-m", "cockpit", *args],
        cwd=folder, env=clean | env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_the_relay_refuses_to_start_without_its_settings_and_names_them(tmp_path: Path) -> None:
    """Missing settings stop `cockpit relay` with one message listing each of them."""
    result = cockpit(tmp_path, "relay")
    assert result.returncode == 2
    for name in ("COCKPIT_PUBLIC_URL", "COCKPIT_SECRET_KEY", "TWILIO_ACCOUNT_SID"):
        assert name in result.stderr


def test_a_malformed_setting_is_named_with_what_is_wrong(tmp_path: Path) -> None:
    """A bad value says which setting and why, and the secret values are not echoed."""
    result = cockpit(tmp_path, "relay", COCKPIT_SEND_MAX_ATTEMPTS="many",
                     COCKPIT_ALLOWED_NUMBERS="12")  # fmt: skip
    assert result.returncode == 2
    assert "COCKPIT_SEND_MAX_ATTEMPTS" in result.stderr
    assert "COCKPIT_ALLOWED_NUMBERS" in result.stderr and "E.164" in result.stderr


def test_users_add_registers_a_number_once(tmp_path: Path) -> None:
    """`cockpit users add` registers a person; the same number again is refused politely."""
    first = cockpit(tmp_path, "users", "add", "+15551234567", "--name", "Ada")
    again = cockpit(tmp_path, "users", "add", "whatsapp:+15551234567", "--name", "Ada")
    listed = cockpit(tmp_path, "users", "list")
    assert first.returncode == 0 and "Added Ada (+15551234567)" in first.stdout
    assert again.returncode == 2 and "already registered" in again.stderr
    assert listed.stdout.split() == ["+15551234567", "Ada", "active"]


def test_users_add_rejects_a_number_that_is_not_e164(tmp_path: Path) -> None:
    """A number WhatsApp could not use is refused with an example of the right form."""
    result = cockpit(tmp_path, "users", "add", "555-1234", "--name", "Bob")
    assert result.returncode == 2 and "+15551234567" in result.stderr


def test_doctor_reports_each_problem_with_a_fix(tmp_path: Path) -> None:
    """An unreachable database makes `cockpit doctor` fail and say how to fix it."""
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    result = cockpit(tmp_path, "doctor", COCKPIT_DATABASE_URL=url)
    assert result.returncode == 1
    assert "database" in result.stdout and "FAIL" in result.stdout
    assert "COCKPIT_DATABASE_URL" in result.stdout.replace("\n", " ").replace("│", " ")
    assert "claude code" in result.stdout
